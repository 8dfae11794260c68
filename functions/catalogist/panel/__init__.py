"""The review panel admins use: what came in, what was decided, what needs a human; and every
human decision kept apart from the models' and recorded for training."""
