"""Banks: named lists of hashes and domains that content is matched against."""
