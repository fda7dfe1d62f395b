"""Inter-agency event bus: a transactional outbox of domain events relayed to NATS JetStream."""
