"""Links in text: the shapes people write, spans in the original, folding, bounds, hostility.

Every domain here is a placeholder under the reserved ``example``/``test`` names or a
well-known suffix (``co.uk``, ``github.io``) with a made-up name in front of it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import idna
import publicsuffixlist
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trustdesk.signals import links as links_module
from trustdesk.signals.links import MAX_CJK_TLD, MAX_LINKS, Link, Links, find_links


def hosts(text: str) -> list[str]:
    return [link.host for link in find_links(text).links]


def only(text: str) -> Link:
    found = find_links(text).links
    assert len(found) == 1, found
    return found[0]


def written(text: str) -> list[str]:
    return [text[link.start : link.end] for link in find_links(text).links]


# --- shapes --------------------------------------------------------------------------------


def test_a_url_is_normalized_and_its_span_is_the_text_as_written() -> None:
    text = "Visit HTTP://Casino-Bonus.EXAMPLE:80/Win?x=1#top now."
    link = only(text)
    assert text[link.start : link.end] == "HTTP://Casino-Bonus.EXAMPLE:80/Win?x=1#top"
    assert link.url == "http://casino-bonus.example/Win?x=1#top"  # path keeps its case
    assert link.host == link.domain == "casino-bonus.example"


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("https://free-money.test:443", "https://free-money.test/"),
        ("https://free-money.test:8443/a", "https://free-money.test:8443/a"),
        ("http://free-money.test:443/", "http://free-money.test:443/"),  # 443 is https's
        ("http://free-money.test:0080/", "http://free-money.test/"),
        ("free-money.test:8080/x?y=1", "http://free-money.test:8080/x?y=1"),
        ("www.casino-bonus.example", "http://www.casino-bonus.example/"),
        ("casino-bonus.example/path/to?q=a+b&c=%20#frag", None),
        ("hxxps://casino-bonus[.]example/x", "https://casino-bonus.example/x"),  # defanged
    ],
)
def test_ports_paths_queries_and_fragments(text: str, url: str | None) -> None:
    link = only(text)
    assert link.url == (url or "http://" + text)
    assert (link.start, link.end) == (0, len(text))


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Go to casino-bonus.example.", "casino-bonus.example"),
        ("Go to casino-bonus.example/win.", "casino-bonus.example/win"),
        ("Really? free-money.test/win!", "free-money.test/win"),
        ("Seen casino-bonus.example?", "casino-bonus.example"),
        ("'free-money.test/a', he said", "free-money.test/a"),
        ("(see https://casino-bonus.example/a_(b)).", "https://casino-bonus.example/a_(b)"),
        ("(see https://casino-bonus.example/a).", "https://casino-bonus.example/a"),
        ("[free-money.test/x]", "free-money.test/x"),
        ("<https://free-money.test/x>", "https://free-money.test/x"),
        ('"https://free-money.test/x"', "https://free-money.test/x"),
        ("a,free-money.test;b", "free-money.test"),
    ],
)
def test_sentence_punctuation_is_not_part_of_the_link(text: str, shown: str) -> None:
    assert written(text) == [shown]


def test_the_roots_trailing_dot_is_dropped_from_the_host() -> None:
    link = only("http://casino-bonus.example./x")
    assert (link.host, link.url) == ("casino-bonus.example", "http://casino-bonus.example/x")


def test_userinfo_is_dropped_and_the_host_is_after_the_last_at() -> None:
    assert only("http://bank.example@evil.test/login").url == "http://evil.test/login"
    assert only("https://user:pw@free-money.test:8443/").host == "free-money.test"
    assert only("http://a@bank.example@evil.test/").host == "evil.test"
    assert hosts("write to joe@free-money.test!") == ["free-money.test"]  # an e-mail's domain


def test_a_percent_encoded_host_is_decoded() -> None:
    assert only("http://casino%2Dbonus.example/").host == "casino-bonus.example"
    assert only("http://%E4%BE%8B%E5%AD%90.%E4%B8%AD%E5%9B%BD/").host == "xn--fsqu00a.xn--fiqs8s"
    assert find_links("http://%ff%fe.example/") == Links((), refused=1)  # not UTF-8


def test_text_that_only_looks_dotted_is_not_a_link() -> None:
    assert hosts("pi is 3.14, see file.txt, e.g. this, v1.2.3, Mr.Smith and a.b") == []
    assert hosts("setup.py") == ["setup.py"]  # .py is a country's: found, matches no bank


def test_ip_addresses_need_a_scheme_and_are_read_as_browsers_read_them() -> None:
    assert hosts("version 192.0.2.7 is out") == []
    for text in ("http://192.0.2.7/x", "http://0xC0.0.2.7/x", "http://3221225991/x"):
        link = only(text)
        assert (link.host, link.domain, link.url) == (
            "192.0.2.7",
            "192.0.2.7",
            "http://192.0.2.7/x",
        )
    link = only("see http://[2001:DB8::0:1]:8080/a.")
    assert (link.host, link.url) == ("2001:db8::1", "http://[2001:db8::1]:8080/a")
    assert find_links("http://999.1.1.1/") == Links((), refused=1)


# --- Chinese text, full-width forms and obfuscated dots -------------------------------------


def test_links_in_chinese_text_without_spaces() -> None:
    assert written("请访问casino-bonus.example领取奖金") == ["casino-bonus.example"]
    assert written("点击http://free-money.test/a领取") == ["http://free-money.test/a"]
    assert written("网址：free-money.test，快来！") == ["free-money.test"]
    assert written("ウェブはcasino-bonus.exampleです") == ["casino-bonus.example"]
    assert written("사이트casino-bonus.example에서") == ["casino-bonus.example"]


def test_full_width_links_are_found_with_their_full_width_span() -> None:
    text = "欢迎光临ｗｗｗ．ｃａｓｉｎｏ－ｂｏｎｕｓ．ｅｘａｍｐｌｅ！"
    link = only(text)
    assert text[link.start : link.end] == "ｗｗｗ．ｃａｓｉｎｏ－ｂｏｎｕｓ．ｅｘａｍｐｌｅ"
    assert (link.host, link.domain) == ("www.casino-bonus.example", "casino-bonus.example")
    assert (
        only("ｈｔｔｐｓ：／／ＦＲＥＥ－ＭＯＮＥＹ．ｔｅｓｔ／ｘ").url
        == "https://free-money.test/x"
    )


@pytest.mark.parametrize(
    "written_as",
    [
        "casino-bonus[.]example",
        "casino-bonus(.)example",
        "casino-bonus{.}example",
        "casino-bonus[dot]example",
        "casino-bonus(DOT)example",
        "casino-bonus [.] example",
        "casino-bonus。example",
        "casino-bonus 。 example",
        "casino-bonus｡example",
        "casino-bonus[.]ｅｘａｍｐｌｅ",
    ],
)
def test_obfuscated_dots_are_dots_and_the_span_covers_them(written_as: str) -> None:
    text = f"快来 {written_as} 赢钱"
    link = only(text)
    assert text[link.start : link.end] == written_as
    assert link.host == "casino-bonus.example"


def test_several_obfuscated_dots_map_back_to_the_right_spans() -> None:
    text = "a www[.]casino-bonus[.]example b free-money (dot) test/x c www。lucky。test"
    assert written(text) == [
        "www[.]casino-bonus[.]example",
        "free-money (dot) test/x",
        "www。lucky。test",
    ]


@pytest.mark.parametrize(
    ("text", "host"),
    [
        ("casino-bonus［ｄｏｔ］example", "casino-bonus.example"),
        ("casino-bonus(DoT)example", "casino-bonus.example"),
        ("ｈｔｔｐ：／／３２２１２２５９９１／", "192.0.2.7"),
        ("http：／/3221225991", "192.0.2.7"),
        ("http://[::1]/", "::1"),
    ],
)
def test_links_without_a_plain_dot_pass_the_quick_check(text: str, host: str) -> None:
    """Text with no dot, '://' or 'dot' in any width is skipped at once: these must not be."""
    assert hosts(text) == [host]


@pytest.mark.parametrize(
    "text",
    [
        "casino-bonus . example",  # a plain dot with spaces: prose
        "casino-bonus dot example",  # a bare 'dot': "polka dot com..."
        "我们到了。com是什么",  # 。 after Chinese ends a sentence
        "好的。test",
        "a [.] ",
    ],
)
def test_what_is_not_taken_for_an_obfuscated_dot(text: str) -> None:
    assert hosts(text) == []


# --- IDN, punycode, registrable domains ----------------------------------------------------


def test_idn_hosts_become_punycode_and_round_trip() -> None:
    link = only("见 例子.中国领取")
    assert link.host == link.domain == "xn--fsqu00a.xn--fiqs8s"
    assert idna.decode(link.host) == "例子.中国"
    assert only("http://xn--fsqu00a.xn--fiqs8s/").host == link.host
    assert only("http://例子.中国/x").url == "http://xn--fsqu00a.xn--fiqs8s/x"
    assert only("Bücher.example").host == "xn--bcher-kva.example"
    assert only("http://faß.example/").host == "xn--fa-hia.example"  # non-transitional


def test_a_decomposed_accent_stays_in_its_label() -> None:
    assert only("cafe\u0301.example").host == only("café.example").host == "xn--caf-dma.example"


def test_no_cjk_top_level_name_is_longer_than_the_cut_looks() -> None:
    """The cut of CJK prose after a host tries prefixes up to MAX_CJK_TLD characters: an
    update of the shipped list that adds a longer CJK top-level name fails here."""
    names = set()
    for line in Path(publicsuffixlist.PSLFILE).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("//"):
            names.add(line.strip().rsplit(".", 1)[-1].lstrip("*!"))
    cjk = [name for name in names if links_module._CJK_CHAR.match(name)]
    assert "中国" in cjk
    assert max(map(len, cjk)) <= MAX_CJK_TLD


def test_a_cjk_first_label_glued_to_text_is_a_documented_limit() -> None:
    assert hosts("访问例子.中国") == ["xn--" + idna.encode("访问例子").decode()[4:] + ".xn--fiqs8s"]


@pytest.mark.parametrize(
    ("text", "domain"),
    [
        ("shop.casino-bonus.co.uk", "casino-bonus.co.uk"),
        ("a.b.free-money.com.cn/x", "free-money.com.cn"),
        ("casino-bonus.github.io", "casino-bonus.github.io"),  # private suffixes count
        ("x.casino-bonus.github.io", "casino-bonus.github.io"),
        ("deep.a.b.c.d.free-money.test", "free-money.test"),
        ("http://co.uk/", None),  # the host is a public suffix
    ],
)
def test_registrable_domains_follow_the_public_suffix_list(text: str, domain: str | None) -> None:
    assert only(text).domain == domain


def test_the_suffix_list_is_never_fetched() -> None:
    """The list ships in the wheel: with every socket refused, links still reduce."""
    code = (
        "import socket\n"
        "def refuse(*a, **k):\n"
        "    raise AssertionError('network used')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "from trustdesk.signals.links import find_links\n"
        "print(find_links('a.casino-bonus.co.uk x.casino-bonus.github.io').links[1].domain)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "casino-bonus.github.io"


# --- malformed and hostile -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found", "refused"),
    [
        ("http://", [], 1),
        ("http:// casino-bonus.example", ["casino-bonus.example"], 1),
        ("http://[::1", [], 1),
        ("http://[::1]x", ["::1"], 0),
        ("http://[not:an:address]/", [], 1),
        ("http://exa mple.com", ["mple.com"], 1),  # the text after the space is a domain
        ("http://-casino_.example/", ["-casino_.example"], 0),  # browsers take these
        ("http://xn--zz.example/", [], 1),  # punycode that does not decode
        ("http://i❤.example/", [], 1),  # IDNA 2008 refuses symbols
        ("http://casino-bonus.example:99999/", [], 1),
        ("http://intranet/", [], 1),  # one label: no public name
    ],
)
def test_malformed_links(text: str, found: list[str], refused: int) -> None:
    result = find_links(text)
    assert [link.host for link in result.links] == found
    assert result.refused == refused


def test_labels_and_hosts_over_the_dns_limits_are_refused() -> None:
    assert find_links("http://" + "a" * 64 + ".example/") == Links((), refused=1)
    assert find_links("a" * 64 + ".com") == Links((), refused=1)
    assert only("a" * 63 + ".com").host == "a" * 63 + ".com"
    too_long = ".".join(["a" * 60] * 5) + ".example"  # 304 + 8 characters
    assert find_links(too_long) == Links((), refused=1)
    assert find_links("a." * 130 + "com") == Links((), refused=1)  # 127 labels at most


def test_deep_subdomains_within_the_limits_reduce_to_their_domain() -> None:
    link = only("a." * 100 + "casino-bonus.example")
    assert link.domain == "casino-bonus.example"
    assert link.host.count(".") == 101


def test_links_longer_than_the_limit_are_refused() -> None:
    text = "http://casino-bonus.example/" + "a" * 5000
    assert find_links(text) == Links((), refused=1)
    assert find_links(text, max_length=6000).links[0].end == len(text)


def test_links_per_text_are_capped_with_a_flag() -> None:
    many = " ".join(f"site{number}.casino-bonus.example" for number in range(MAX_LINKS + 50))
    result = find_links(many)
    assert len(result.links) == MAX_LINKS
    assert result.capped
    exact = " ".join(f"site{number}.example" for number in range(MAX_LINKS))
    assert not find_links(exact).capped
    assert not find_links(exact + " 3.14 file.txt").capped  # more candidates, no more links
    assert find_links(many, max_links=3).links[-1].host == "site2.casino-bonus.example"


def _best_of(function: Callable[[], object], rounds: int = 3) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


HOSTILE: dict[str, Callable[[int], str]] = {
    "dots": lambda n: "." * n,
    "a.": lambda n: "a." * (n // 2),
    "cjk.": lambda n: "中." * (n // 2),
    "bracket dots": lambda n: "a[.]" * (n // 4),
    "ideographic": lambda n: "a 。 " * (n // 4),
    "schemes": lambda n: "http://" * (n // 7),
    "userinfo": lambda n: "http://" + "a@" * (n // 2),
    "brackets": lambda n: "http://[" * (n // 8),
    "parentheses": lambda n: "a.com/" + "(" * n,
    "cjk prose": lambda n: "例子.中国" + "领" * n,
    "links": lambda n: "casino-bonus.example " * (n // 21),
}


@pytest.mark.parametrize("shape", HOSTILE)
def test_hostile_text_is_scanned_in_linear_time(shape: str) -> None:
    """One text eight times as long takes about as long as eight short ones (a quadratic
    scan: eight times longer). Relative figures, best of three, with a wide margin for a
    busy machine; 200,000 characters in all."""
    make = HOSTILE[shape]
    small, large = make(25_000), make(200_000)
    find_links(small)  # warm the suffix list

    def eight_small() -> None:
        for _ in range(8):
            find_links(small)

    ratio = _best_of(lambda: find_links(large)) / _best_of(eight_small)
    assert ratio < 4, f"{shape}: one text 8x as long took {ratio:.1f}x eight short ones"


# --- properties ----------------------------------------------------------------------------

PIECES = st.sampled_from(
    [
        "casino-bonus", "example", "free-money", "test", "www", "中国", "例子", "领取", "http://",
        "https://", ".", "[.]", "(dot)", "。", " ", "/", "?", "#", ":", "@", "%2D", "8080",
        "ｗｗｗ", "．", "ｅｘａｍｐｌｅ", ")", "(", "!", ",", "co.uk", "[::1]", "xn--fsqu00a",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES, max_size=30).map("".join))
def test_each_span_found_again_alone_gives_the_same_link(text: str) -> None:
    result = find_links(text)
    previous_end = 0
    for link in result.links:
        assert previous_end <= link.start < link.end <= len(text)
        previous_end = link.end
        again = find_links(text[link.start : link.end]).links
        assert [(item.url, item.host) for item in again] == [(link.url, link.host)]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_gives_links_in_bounds_without_raising(text: str) -> None:
    result = find_links(text)
    assert all(0 <= link.start < link.end <= len(text) for link in result.links)
    assert all(link.host == link.host.lower() and link.host.isascii() for link in result.links)
