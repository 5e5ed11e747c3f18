"""The error every dataset raises when it cannot be loaded here."""


class DataUnavailableError(OSError):
  """A dataset that cannot be loaded here; the message is one line for the user."""
