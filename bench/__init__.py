"""trustdesk's benchmarks: `python -m bench [NAME ...]` runs them and writes bench/results/."""
