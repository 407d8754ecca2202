"""Policy packs: the regulations trustdesk implements, as validated bilingual data."""
