"""HTTP plumbing shared by every slice's router: dependencies, problem responses, limits."""
