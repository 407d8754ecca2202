"""Access: API keys for services, console users, roles and permissions."""
