"""The review panel admins use: what came in, what was decided, what needs a human; and every
human decision kept apart from the models' and recorded for training. Public: `app`
(create_app) and `auth` (the sign-in kinds); the blueprints, queries and decisions are its own."""

__all__ = ["app", "auth"]
