"""Cases: notices, review, decisions, actions delivered to the service, appeals and
statements of reasons."""
