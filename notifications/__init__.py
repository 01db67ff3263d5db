"""Notifications: people are told what happened (the in-app notification centre and e-mail), fed by the outbox."""
