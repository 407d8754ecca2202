"""trustdesk's documentation; ``docs.reference`` generates the reference pages."""
