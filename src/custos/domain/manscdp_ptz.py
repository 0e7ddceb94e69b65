"""The 8-byte PTZ command of GB/T 28181-2016 annex A.3 (前端设备控制协议), as carried in
MANSCDP ``DeviceControl/PTZCmd`` as 16 hexadecimal characters.

    byte 1  A5h                                   (首字节)
    byte 2  combination code 1: high nibble version (0), low nibble check
            = (byte1 high nibble + byte1 low nibble + byte2 high nibble) mod 16
    byte 3  address, low 8 bits
    byte 4  instruction: bit5 zoom out, bit4 zoom in, bit3 up, bit2 down, bit1 left, bit0 right
    byte 5  data 1: pan (horizontal) speed 0-255
    byte 6  data 2: tilt (vertical) speed 0-255
    byte 7  combination code 2: high nibble zoom speed 0-15, low nibble address high 4 bits
    byte 8  checksum = sum of bytes 1-7 mod 256

``A50F0100000000B5`` is "stop" at address 1. Only the PTZ instructions (bits 0-5, the two top
bits clear) are built and read here; FI (focus/iris), preset and cruise instructions (bit 6 set)
are refused as not supported.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TypeVar

from custos.domain.errors import FieldError, ValidationFailed

FIRST_BYTE = 0xA5
VERSION = 0x0


class Pan(enum.Enum):
    NONE = "none"
    LEFT = "left"
    RIGHT = "right"


class Tilt(enum.Enum):
    NONE = "none"
    UP = "up"
    DOWN = "down"


class Zoom(enum.Enum):
    NONE = "none"
    IN = "in"
    OUT = "out"


_E = TypeVar("_E", Pan, Tilt, Zoom)

_PAN_BITS = {Pan.NONE: 0, Pan.RIGHT: 0x01, Pan.LEFT: 0x02}
_TILT_BITS = {Tilt.NONE: 0, Tilt.DOWN: 0x04, Tilt.UP: 0x08}
_ZOOM_BITS = {Zoom.NONE: 0, Zoom.IN: 0x10, Zoom.OUT: 0x20}


def _refuse(field: str, reason: str) -> ValidationFailed:
    return ValidationFailed(FieldError(field, reason, key="manscdp.invalid", params={}))


@dataclass(frozen=True)
class PtzCommand:
    """One PTZ movement (or stop: every direction NONE). Speeds are 0-255 (pan, tilt) and 0-15
    (zoom); ``address`` is the 12-bit device address (0-4095, usually 1 or 0)."""

    pan: Pan = Pan.NONE
    tilt: Tilt = Tilt.NONE
    zoom: Zoom = Zoom.NONE
    pan_speed: int = 0
    tilt_speed: int = 0
    zoom_speed: int = 0
    address: int = 1

    def __post_init__(self) -> None:
        for name, value, top in (
            ("pan_speed", self.pan_speed, 255),
            ("tilt_speed", self.tilt_speed, 255),
            ("zoom_speed", self.zoom_speed, 15),
            ("address", self.address, 4095),
        ):
            if not 0 <= value <= top:
                raise _refuse(name, f"must be between 0 and {top}, got {value}")

    @classmethod
    def from_velocity(cls, pan: float, tilt: float, zoom: float) -> PtzCommand:
        """The annex A command for a continuous move at ONVIF-style speeds (-1..1 each: pan
        positive is right, tilt positive up, zoom positive in); all 0 is stop."""
        for name, value in (("pan", pan), ("tilt", tilt), ("zoom", zoom)):
            if not -1.0 <= value <= 1.0:
                raise _refuse(name, f"must be between -1 and 1, got {value:g}")
        return cls(
            pan=Pan.RIGHT if pan > 0 else Pan.LEFT if pan < 0 else Pan.NONE,
            tilt=Tilt.UP if tilt > 0 else Tilt.DOWN if tilt < 0 else Tilt.NONE,
            zoom=Zoom.IN if zoom > 0 else Zoom.OUT if zoom < 0 else Zoom.NONE,
            pan_speed=round(abs(pan) * 255),
            tilt_speed=round(abs(tilt) * 255),
            zoom_speed=round(abs(zoom) * 15),
        )

    @property
    def is_stop(self) -> bool:
        return (self.pan, self.tilt, self.zoom) == (Pan.NONE, Tilt.NONE, Zoom.NONE)

    def to_bytes(self) -> bytes:
        byte2 = (VERSION << 4) | (((FIRST_BYTE >> 4) + (FIRST_BYTE & 0x0F) + VERSION) % 16)
        instruction = _PAN_BITS[self.pan] | _TILT_BITS[self.tilt] | _ZOOM_BITS[self.zoom]
        body = [
            FIRST_BYTE,
            byte2,
            self.address & 0xFF,
            instruction,
            self.pan_speed,
            self.tilt_speed,
            (self.zoom_speed << 4) | (self.address >> 8),
        ]
        return bytes([*body, sum(body) % 256])

    def to_hex(self) -> str:
        """The 16 uppercase hex characters of ``<PTZCmd>``."""
        return self.to_bytes().hex().upper()

    @classmethod
    def from_hex(cls, text: str, field: str = "PTZCmd") -> PtzCommand:
        """Read a ``PTZCmd`` value; refuses a wrong length, first byte, nibble check, checksum,
        contradictory directions, or an instruction that is not a PTZ movement."""
        if len(text) != 16:
            raise _refuse(field, f"must be 16 hexadecimal characters, got {len(text)}")
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raise _refuse(field, "must be hexadecimal") from None
        if raw[0] != FIRST_BYTE:
            raise _refuse(field, f"first byte must be A5, got {raw[0]:02X}")
        nibble_check = ((raw[0] >> 4) + (raw[0] & 0x0F) + (raw[1] >> 4)) % 16
        if raw[1] & 0x0F != nibble_check:
            raise _refuse(
                field, f"byte 2 check nibble is {raw[1] & 0x0F:X}, expected {nibble_check:X}"
            )
        if raw[7] != sum(raw[:7]) % 256:
            raise _refuse(field, f"checksum is {raw[7]:02X}, expected {sum(raw[:7]) % 256:02X}")
        instruction = raw[3]
        if instruction & 0xC0:
            raise _refuse(field, f"instruction {instruction:02X} is not a PTZ movement")
        if instruction & 0x03 == 0x03 or instruction & 0x0C == 0x0C or instruction & 0x30 == 0x30:
            raise _refuse(field, f"instruction {instruction:02X} asks for opposite directions")
        return cls(
            pan=_from_bits(_PAN_BITS, instruction & 0x03),
            tilt=_from_bits(_TILT_BITS, instruction & 0x0C),
            zoom=_from_bits(_ZOOM_BITS, instruction & 0x30),
            pan_speed=raw[4],
            tilt_speed=raw[5],
            zoom_speed=raw[6] >> 4,
            address=raw[2] | ((raw[6] & 0x0F) << 8),
        )


def _from_bits(table: dict[_E, int], bits: int) -> _E:
    return next(member for member, value in table.items() if value == bits)
