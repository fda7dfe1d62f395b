"""Notifications: one transactional outbox, many channels (SMS, Zalo ZNS, e-mail, push, portal inbox)."""
