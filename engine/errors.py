"""The one error type the command line turns into a single line on stderr."""


class MoodlineError(Exception):
    """A problem a user can act on: the message names the file (or key) and what is wrong."""


class AudioError(MoodlineError):
    """An audio file that cannot be decoded, or holds nothing usable."""


class ModelError(MoodlineError):
    """A model file that is missing, corrupt, or breaks the metadata contract."""
