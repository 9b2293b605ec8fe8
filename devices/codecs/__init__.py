"""Pure bytes <-> events for each wire format; malformed input raises CodecError."""

from devices.codecs.errors import CodecError

__all__ = ["CodecError"]
