"""The errors datasets raise: one that cannot be loaded here, a table that cannot be used."""


class DataUnavailableError(OSError):
  """A dataset that cannot be loaded here; the message is one line for the user."""


class TableError(ValueError):
  """A table that cannot be trained on as given (missing values, a constant column, ...);
  the message is one line naming the column."""
