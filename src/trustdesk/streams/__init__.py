"""Streams in: content events read from Redis Streams (or Kafka), screened, answered."""
