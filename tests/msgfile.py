"""Write Outlook .msg files for tests, so that no real mail ever has to be committed.

An .msg file is a set of MAPI properties ([MS-OXMSG]) stored in a Compound File Binary
container ([MS-CFB]): a tiny FAT file system with storages (folders) and streams (files).
This module has two layers, both standard library only:

* ``write_compound_file`` writes any tree of ``Storage``/``Stream`` as a version 3 compound
  file (512-byte sectors; streams under 4096 bytes in the mini stream; a DIFAT when the FAT
  needs more than the header's 109 slots).
* ``write_msg`` lays out an "IPM.Note" message on top of it: a property stream per object,
  one ``__substg1.0_TTTTYYYY`` stream per variable-length property, one storage per
  recipient and per attachment, and the (empty) named-property storage readers require.

It writes what a test needs, not everything Outlook writes: no RTF body, no named
properties, no embedded messages, Unicode strings only.
"""

from __future__ import annotations

import email.policy
import email.utils
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage

# --------------------------------------------------------------------------------------
# Compound File Binary (MS-CFB), version 3
# --------------------------------------------------------------------------------------

_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")
_SECTOR = 512  # version 3 files have 512-byte sectors (sector shift 9)
_MINI_SECTOR = 64  # mini sector shift 6
_MINI_CUTOFF = 4096  # streams smaller than this live in the mini stream
_IDS_PER_SECTOR = _SECTOR // 4  # FAT / mini FAT / DIFAT entries are 32-bit sector numbers
_HEADER_DIFAT_SLOTS = 109  # the header itself lists the first 109 FAT sectors
_DIR_ENTRY = 128

# Special sector numbers (MS-CFB 2.1).
_DIFSECT = 0xFFFFFFFC
_FATSECT = 0xFFFFFFFD
_ENDOFCHAIN = 0xFFFFFFFE
_FREESECT = 0xFFFFFFFF
_NOSTREAM = 0xFFFFFFFF

# Directory entry object types and red-black colours.
_TYPE_EMPTY, _TYPE_STORAGE, _TYPE_STREAM, _TYPE_ROOT = 0, 1, 2, 5
_RED, _BLACK = 0, 1

# Version 3 stores stream sizes in 32 bits whose high bit must be clear (MS-CFB 2.6.3).
MAX_STREAM_SIZE = 0x7FFFFFFF

# Characters MS-CFB forbids in entry names (2.6.1).
_ILLEGAL_NAME_CHARS = frozenset("/\\:!")


@dataclass(frozen=True)
class Stream:
    """A stream (file) inside a compound file."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Storage:
    """A storage (folder) inside a compound file; ``clsid`` is 16 raw bytes."""

    name: str
    children: tuple[Storage | Stream, ...] = ()
    clsid: bytes = bytes(16)


@dataclass
class _Entry:
    """A directory entry under construction; ``write_compound_file`` fills in the links."""

    name: str
    kind: int
    data: bytes = b""
    clsid: bytes = bytes(16)
    kids: list[int] = field(default_factory=list)
    left: int = _NOSTREAM
    right: int = _NOSTREAM
    child: int = _NOSTREAM
    color: int = _BLACK
    start: int = _ENDOFCHAIN
    size: int = 0


def _utf16_units(name: str) -> tuple[int, ...]:
    raw = name.encode("utf-16-le")
    return struct.unpack(f"<{len(raw) // 2}H", raw)


def _sort_key(name: str) -> tuple[int, tuple[int, ...]]:
    """MS-CFB 2.6.4 order of siblings: shorter names first, then code units compared after
    upper-casing (a reader that looks a name up by walking the tree relies on this)."""
    units = _utf16_units(name)

    def upper(unit: int) -> int:
        # Only one-to-one mappings apply: "ß".upper() == "SS" leaves the unit as it is.
        folded = chr(unit).upper()
        return ord(folded) if len(folded) == 1 and ord(folded) <= 0xFFFF else unit

    return len(units), tuple(upper(u) for u in units)


def _check_name(name: str) -> None:
    if not name:
        raise ValueError("compound file entry names must not be empty")
    if len(_utf16_units(name)) > 31:  # 64 bytes including the terminating NUL
        raise ValueError(f"compound file entry name longer than 31 UTF-16 units: {name!r}")
    if _ILLEGAL_NAME_CHARS & set(name):
        raise ValueError(f"compound file entry name contains one of / \\ : ! : {name!r}")


def _link_siblings(entries: list[_Entry], kids: list[int]) -> int:
    """Arrange one storage's children as a red-black tree and return the root's id.

    Splitting the sorted list at the middle gives a tree whose levels are all full except
    possibly the deepest. Colouring that deepest level red and everything else black gives
    every root-to-leaf path the same number of black nodes, with no red node having a red
    child, so it is a valid red-black tree without any rebalancing.
    """
    ordered = sorted(kids, key=lambda i: _sort_key(entries[i].name))
    depth_of: dict[int, int] = {}

    def build(lo: int, hi: int, depth: int) -> int:
        if lo >= hi:
            return _NOSTREAM
        mid = (lo + hi) // 2
        node = ordered[mid]
        depth_of[node] = depth
        entries[node].left = build(lo, mid, depth + 1)
        entries[node].right = build(mid + 1, hi, depth + 1)
        return node

    root = build(0, len(ordered), 0)
    deepest = max(depth_of.values(), default=0)
    for node, depth in depth_of.items():
        entries[node].color = _RED if depth == deepest and depth > 0 else _BLACK
    return root


def _flatten(root: Storage) -> list[_Entry]:
    """Number the tree's entries (root is 0, as MS-CFB requires) and link each storage's
    children into its sibling tree."""
    entries = [_Entry(root.name, _TYPE_ROOT, clsid=root.clsid)]
    pending: list[tuple[int, Storage]] = [(0, root)]
    while pending:
        parent_id, storage = pending.pop()
        seen: set[tuple[int, tuple[int, ...]]] = set()
        for child in storage.children:
            _check_name(child.name)
            key = _sort_key(child.name)
            if key in seen:  # names are compared case-insensitively
                raise ValueError(f"duplicate entry {child.name!r} in storage {storage.name!r}")
            seen.add(key)
            entry_id = len(entries)
            if isinstance(child, Storage):
                if len(child.clsid) != 16:
                    raise ValueError(f"CLSID of {child.name!r} must be 16 bytes")
                entries.append(_Entry(child.name, _TYPE_STORAGE, clsid=child.clsid))
                pending.append((entry_id, child))
            else:
                if len(child.data) > MAX_STREAM_SIZE:
                    raise ValueError(f"stream {child.name!r} is too large for a version 3 file")
                entries.append(_Entry(child.name, _TYPE_STREAM, data=child.data))
            entries[parent_id].kids.append(entry_id)
    for entry in entries:
        if entry.kind in (_TYPE_ROOT, _TYPE_STORAGE):
            entry.child = _link_siblings(entries, entry.kids)
    return entries


def _sectors_for(size: int, unit: int) -> int:
    return math.ceil(size / unit)


def _pad(data: bytes, unit: int) -> bytes:
    return data + bytes(-len(data) % unit)


def _chain(table: list[int], first: int, count: int) -> None:
    """Link ``count`` consecutive sectors starting at ``first`` into one chain."""
    for offset in range(count - 1):
        table[first + offset] = first + offset + 1
    if count:
        table[first + count - 1] = _ENDOFCHAIN


def _pack_ids(ids: Sequence[int]) -> bytes:
    return struct.pack(f"<{len(ids)}I", *ids)


def _directory_entry(entry: _Entry | None) -> bytes:
    if entry is None:  # unused slot: all zero except the three links (MS-CFB 2.6.3)
        return bytes(68) + struct.pack("<3I", _NOSTREAM, _NOSTREAM, _NOSTREAM) + bytes(48)
    name = entry.name.encode("utf-16-le") + b"\0\0"
    return (
        name.ljust(64, b"\0")
        + struct.pack("<HBB3I", len(name), entry.kind, entry.color,
                      entry.left, entry.right, entry.child)
        + entry.clsid
        # State bits, then creation and modification FILETIMEs: zero means "not recorded",
        # which also keeps the output byte-for-byte reproducible.
        + bytes(4 + 8 + 8)
        # Starting sector, then a 64-bit size whose high half version 3 leaves at zero.
        + struct.pack("<IQ", entry.start, entry.size)
    )


def write_compound_file(root: Storage) -> bytes:
    """Serialise ``root`` (its name is normally "Root Entry") as a version 3 compound file.

    Layout, in sector order: FAT sectors, DIFAT sectors, directory, mini FAT, the mini
    stream, then each large stream. Any order is legal because everything is found through
    chains; a fixed order keeps the output deterministic.
    """
    if len(root.clsid) != 16:
        raise ValueError("the root CLSID must be 16 bytes")
    entries = _flatten(root)

    # Small streams are packed into the mini stream in 64-byte mini sectors.
    mini_stream = bytearray()
    mini_fat: list[int] = []
    large: list[_Entry] = []
    for entry in entries:
        if entry.kind != _TYPE_STREAM:
            continue
        entry.size = len(entry.data)
        if entry.size == 0:
            entry.start = _ENDOFCHAIN  # readers check that an empty stream has no chain
        elif entry.size < _MINI_CUTOFF:
            entry.start = len(mini_fat)
            count = _sectors_for(entry.size, _MINI_SECTOR)
            mini_fat.extend([_FREESECT] * count)
            _chain(mini_fat, entry.start, count)
            mini_stream += _pad(entry.data, _MINI_SECTOR)
        else:
            large.append(entry)

    directory_sectors = _sectors_for(len(entries) * _DIR_ENTRY, _SECTOR)
    mini_fat_sectors = _sectors_for(len(mini_fat) * 4, _SECTOR)
    mini_stream_sectors = _sectors_for(len(mini_stream), _SECTOR)
    data_sectors = (directory_sectors + mini_fat_sectors + mini_stream_sectors
                    + sum(_sectors_for(e.size, _SECTOR) for e in large))

    # The FAT has to describe every sector, its own sectors and the DIFAT's included, so
    # grow it until it covers everything it adds.
    fat_sectors = 1
    while True:
        difat_sectors = _sectors_for(max(0, fat_sectors - _HEADER_DIFAT_SLOTS),
                                     _IDS_PER_SECTOR - 1)  # last slot links to the next
        total = fat_sectors + difat_sectors + data_sectors
        if fat_sectors * _IDS_PER_SECTOR >= total:
            break
        fat_sectors += 1

    fat = [_FREESECT] * (fat_sectors * _IDS_PER_SECTOR)
    for sector in range(fat_sectors):
        fat[sector] = _FATSECT
    next_free = fat_sectors
    for sector in range(next_free, next_free + difat_sectors):
        fat[sector] = _DIFSECT
    first_difat = next_free if difat_sectors else _ENDOFCHAIN
    next_free += difat_sectors

    def allocate(count: int) -> int:
        nonlocal next_free
        if count == 0:
            return _ENDOFCHAIN
        first = next_free
        _chain(fat, first, count)
        next_free += count
        return first

    first_directory = allocate(directory_sectors)
    first_mini_fat = allocate(mini_fat_sectors)
    # The root entry's chain is the mini stream; its size is the mini stream's size.
    entries[0].start = allocate(mini_stream_sectors)
    entries[0].size = len(mini_stream)
    for entry in large:
        entry.start = allocate(_sectors_for(entry.size, _SECTOR))
    assert next_free == total

    # DIFAT: the header holds the first 109 FAT sector numbers, each DIFAT sector 127 more
    # plus the number of the next DIFAT sector. Unused slots are FREESECT.
    fat_ids = list(range(fat_sectors))
    header_difat = fat_ids[:_HEADER_DIFAT_SLOTS]
    header_difat += [_FREESECT] * (_HEADER_DIFAT_SLOTS - len(header_difat))
    difat_blob = bytearray()
    rest = fat_ids[_HEADER_DIFAT_SLOTS:]
    for index in range(difat_sectors):
        chunk = rest[index * 127:(index + 1) * 127]
        chunk += [_FREESECT] * (127 - len(chunk))
        following = fat_sectors + index + 1 if index + 1 < difat_sectors else _ENDOFCHAIN
        difat_blob += _pack_ids([*chunk, following])

    header = (
        _SIGNATURE
        + bytes(16)  # header CLSID: must be zero
        + struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 9, 6)  # minor, major, BOM, shifts
        + bytes(6)  # reserved
        # Directory sector count (must be 0 in version 3), FAT sector count, first
        # directory sector, transaction signature, mini stream cutoff.
        + struct.pack("<5I", 0, fat_sectors, first_directory, 0, _MINI_CUTOFF)
        + struct.pack("<4I", first_mini_fat, mini_fat_sectors, first_difat, difat_sectors)
        + _pack_ids(header_difat)
    )
    assert len(header) == _SECTOR

    padded_entries: list[_Entry | None] = [*entries]
    padded_entries += [None] * (directory_sectors * 4 - len(entries))
    mini_fat += [_FREESECT] * (-len(mini_fat) % _IDS_PER_SECTOR)

    parts = [
        header,
        _pack_ids(fat),
        bytes(difat_blob),
        b"".join(_directory_entry(e) for e in padded_entries),
        _pack_ids(mini_fat),
        _pad(bytes(mini_stream), _SECTOR),
        *(_pad(e.data, _SECTOR) for e in large),
    ]
    result = b"".join(parts)
    assert len(result) == _SECTOR * (1 + total)
    return result


# --------------------------------------------------------------------------------------
# Outlook message (MS-OXMSG)
# --------------------------------------------------------------------------------------

# Property types ([MS-OXCDATA] 2.11.1) this writer can store.
PT_LONG = 0x0003
PT_BOOLEAN = 0x000B
PT_SYSTIME = 0x0040
PT_UNICODE = 0x001F
PT_BINARY = 0x0102

# Readable and writable ([MS-OXMSG] 2.4.2.1); what Outlook puts on ordinary properties.
_PROPATTR_READABLE_WRITABLE = 0x00000006

# Property tags: (property id << 16) | property type.
PR_MESSAGE_CLASS = 0x001A001F
PR_IMPORTANCE = 0x00170003
PR_SUBJECT = 0x0037001F
PR_CLIENT_SUBMIT_TIME = 0x00390040
PR_SENT_REPRESENTING_NAME = 0x0042001F
PR_SENT_REPRESENTING_ADDRTYPE = 0x0064001F
PR_SENT_REPRESENTING_EMAIL_ADDRESS = 0x0065001F
PR_TRANSPORT_MESSAGE_HEADERS = 0x007D001F
PR_SENDER_NAME = 0x0C1A001F
PR_SENDER_ADDRTYPE = 0x0C1E001F
PR_SENDER_EMAIL_ADDRESS = 0x0C1F001F
PR_DISPLAY_TO = 0x0E04001F
PR_MESSAGE_DELIVERY_TIME = 0x0E060040
PR_MESSAGE_FLAGS = 0x0E070003
PR_HASATTACH = 0x0E1B000B
PR_NORMALIZED_SUBJECT = 0x0E1D001F
PR_BODY = 0x1000001F
PR_HTML = 0x10130102
PR_INTERNET_MESSAGE_ID = 0x1035001F
PR_IN_REPLY_TO_ID = 0x1042001F
PR_CREATION_TIME = 0x30070040
PR_LAST_MODIFICATION_TIME = 0x30080040
PR_STORE_SUPPORT_MASK = 0x340D0003
PR_INTERNET_CPID = 0x3FDE0003
PR_SENDER_SMTP_ADDRESS = 0x5D01001F
PR_SENT_REPRESENTING_SMTP_ADDRESS = 0x5D02001F
# Recipient properties.
PR_RECIPIENT_TYPE = 0x0C150003
PR_OBJECT_TYPE = 0x0FFE0003
PR_ROWID = 0x30000003
PR_DISPLAY_NAME = 0x3001001F
PR_ADDRTYPE = 0x3002001F
PR_EMAIL_ADDRESS = 0x3003001F
PR_DISPLAY_TYPE = 0x39000003
PR_SMTP_ADDRESS = 0x39FE001F
PR_RECIPIENT_DISPLAY_NAME = 0x5FF6001F
# Attachment properties.
PR_ATTACH_SIZE = 0x0E200003
PR_ATTACH_NUM = 0x0E210003
PR_ATTACH_DATA_BIN = 0x37010102
PR_ATTACH_EXTENSION = 0x3703001F
PR_ATTACH_FILENAME = 0x3704001F
PR_ATTACH_METHOD = 0x37050003
PR_ATTACH_LONG_FILENAME = 0x3707001F
PR_RENDERING_POSITION = 0x370B0003
PR_ATTACH_MIME_TAG = 0x370E001F
PR_ATTACHMENT_HIDDEN = 0x7FFE000B

MSGFLAG_READ = 0x01
MSGFLAG_HASATTACH = 0x10
STORE_UNICODE_OK = 0x00040000  # tells readers that strings are PT_UNICODE (UTF-16-LE)
MAPI_TO = 1
MAPI_MAILUSER = 6
MAPI_ATTACH = 7
ATTACH_BY_VALUE = 1
CP_UTF8 = 65001

# The CLSID Outlook gives the root storage of a message file.
MSG_ROOT_CLSID = bytes.fromhex("0B0D020000000000C000000000000046")

# Property-stream headers ([MS-OXMSG] 2.4.1): 32 bytes for the top-level message (8
# reserved, next recipient id, next attachment id, recipient count, attachment count, 8
# reserved); 8 reserved bytes for recipient and attachment objects.
_TOP_LEVEL_HEADER = struct.Struct("<8x4I8x")
_SUB_OBJECT_HEADER = bytes(8)

# 1601-01-01, the FILETIME epoch; FILETIME counts 100-nanosecond intervals from it.
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)

PropertyValue = int | bool | datetime | str | bytes


def filetime(moment: datetime) -> int:
    """A timezone-aware ``datetime`` as a FILETIME (exact to the microsecond)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("dates must be timezone-aware; a naive datetime is ambiguous")
    delta = moment - _FILETIME_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def _property_streams(header: bytes, props: dict[int, PropertyValue]) -> list[Stream]:
    """The ``__properties_version1.0`` stream plus one ``__substg1.0_`` stream per
    variable-length property ([MS-OXMSG] 2.1 and 2.4.2)."""
    table = bytearray(header)
    streams: list[Stream] = []
    for tag in sorted(props):
        value = props[tag]
        prop_type = tag & 0xFFFF
        entry = struct.pack("<II", tag, _PROPATTR_READABLE_WRITABLE)
        if prop_type == PT_LONG and isinstance(value, int) and not isinstance(value, bool):
            # 4-byte value, 4 reserved bytes; unsigned because flags like 0xFFFFFFFF occur.
            entry += struct.pack("<I4x", value & 0xFFFFFFFF)
        elif prop_type == PT_BOOLEAN and isinstance(value, bool):
            # The spec says one byte 0/1; writing it as a 16-bit 0/1 satisfies readers
            # that read one byte and those (extract-msg) that read two.
            entry += struct.pack("<H6x", int(value))
        elif prop_type == PT_SYSTIME and isinstance(value, datetime):
            entry += struct.pack("<Q", filetime(value))
        elif prop_type == PT_UNICODE and isinstance(value, str):
            if "\0" in value:
                raise ValueError(f"string property {tag:08X} contains NUL, which MAPI truncates")
            data = value.encode("utf-16-le")
            # The stream has no terminator but the size counts one ([MS-OXMSG] 2.4.2.2).
            entry += struct.pack("<I4x", len(data) + 2)
            streams.append(Stream(f"__substg1.0_{tag:08X}", data))
        elif prop_type == PT_BINARY and isinstance(value, bytes):
            entry += struct.pack("<I4x", len(value))
            streams.append(Stream(f"__substg1.0_{tag:08X}", value))
        else:
            raise TypeError(f"property {tag:08X}: {type(value).__name__} does not fit its type")
        table += entry
    return [Stream("__properties_version1.0", bytes(table)), *streams]


def _short_filename(long_name: str, index: int) -> str:
    """An 8.3 name for PR_ATTACH_FILENAME, in the "STEM~N.EXT" style Windows generates
    when the long name does not already fit."""
    base, dot, extension = long_name.rpartition(".")
    if not dot:
        base, extension = long_name, ""

    def ascii_only(text: str) -> str:
        return "".join(c for c in text.upper() if c.isascii() and c.isalnum())

    short_base, short_extension = ascii_only(base), ascii_only(extension)
    fits = (short_base == base.upper() and 0 < len(short_base) <= 8
            and short_extension == extension.upper() and len(short_extension) <= 3)
    if not fits:
        short_base = (short_base or "ATTACH")[:6] + f"~{index + 1}"
        short_extension = short_extension[:3]
    return f"{short_base}.{short_extension}" if short_extension else short_base


def _recipient_storage(index: int, name: str, address: str) -> Storage:
    props: dict[int, PropertyValue] = {
        PR_ROWID: index,
        PR_RECIPIENT_TYPE: MAPI_TO,
        PR_OBJECT_TYPE: MAPI_MAILUSER,
        PR_DISPLAY_TYPE: 0,  # DT_MAILUSER
        PR_DISPLAY_NAME: name,
        PR_RECIPIENT_DISPLAY_NAME: name,
        PR_ADDRTYPE: "SMTP",
        PR_EMAIL_ADDRESS: address,
        PR_SMTP_ADDRESS: address,
    }
    return Storage(f"__recip_version1.0_#{index:08X}",
                   tuple(_property_streams(_SUB_OBJECT_HEADER, props)))


def _attachment_storage(index: int, filename: str, mime_type: str, data: bytes) -> Storage:
    props: dict[int, PropertyValue] = {
        PR_ATTACH_NUM: index,
        PR_OBJECT_TYPE: MAPI_ATTACH,
        PR_ATTACH_METHOD: ATTACH_BY_VALUE,
        PR_RENDERING_POSITION: 0xFFFFFFFF,  # not rendered inside the body
        PR_ATTACHMENT_HIDDEN: False,
        PR_DISPLAY_NAME: filename,
        PR_ATTACH_LONG_FILENAME: filename,
        PR_ATTACH_FILENAME: _short_filename(filename, index),
        PR_ATTACH_MIME_TAG: mime_type,
        PR_ATTACH_SIZE: len(data),
        PR_ATTACH_DATA_BIN: data,
    }
    if "." in filename:
        props[PR_ATTACH_EXTENSION] = "." + filename.rpartition(".")[2]
    return Storage(f"__attach_version1.0_#{index:08X}",
                   tuple(_property_streams(_SUB_OBJECT_HEADER, props)))


def _named_property_storage() -> Storage:
    """The named-property mapping. It maps nothing here, but [MS-OXMSG] 2.2.3 requires the
    storage with its GUID, entry and string streams, and extract-msg refuses files
    without them."""
    return Storage("__nameid_version1.0", (
        Stream("__substg1.0_00020102", b""),
        Stream("__substg1.0_00030102", b""),
        Stream("__substg1.0_00040102", b""),
    ))


def write_msg(
    *,
    subject: str,
    sender_name: str,
    sender_email: str,
    to: Sequence[tuple[str, str]],
    body: str,
    html: str | None = None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    date: datetime | None = None,
    transport_headers: str | None = None,
    attachments: Sequence[tuple[str, str, bytes]] = (),
) -> bytes:
    """The bytes of an Outlook .msg file ("IPM.Note", Unicode strings) holding this message.

    ``to`` is ``(display name, address)`` pairs; ``attachments`` is ``(filename, MIME type,
    data)`` triples, stored by value. ``html`` is stored as UTF-8 (PR_HTML is binary and
    PR_INTERNET_CPID says 65001). ``date`` must be timezone-aware; it becomes the submit,
    delivery, creation and modification times. ``transport_headers`` is stored verbatim;
    readers such as extract-msg take From/To/Date/Message-ID/Subject from it when present
    (see ``make_transport_headers``).
    """
    props: dict[int, PropertyValue] = {
        PR_MESSAGE_CLASS: "IPM.Note",
        PR_STORE_SUPPORT_MASK: STORE_UNICODE_OK,
        PR_INTERNET_CPID: CP_UTF8,
        # Read and sent: no MSGFLAG_UNSENT, which extract-msg checks before it reports a date.
        PR_MESSAGE_FLAGS: MSGFLAG_READ | (MSGFLAG_HASATTACH if attachments else 0),
        PR_HASATTACH: bool(attachments),
        PR_IMPORTANCE: 1,  # normal
        PR_SUBJECT: subject,
        PR_NORMALIZED_SUBJECT: subject,
        PR_SENDER_NAME: sender_name,
        PR_SENDER_EMAIL_ADDRESS: sender_email,
        PR_SENDER_SMTP_ADDRESS: sender_email,
        PR_SENDER_ADDRTYPE: "SMTP",
        PR_SENT_REPRESENTING_NAME: sender_name,
        PR_SENT_REPRESENTING_EMAIL_ADDRESS: sender_email,
        PR_SENT_REPRESENTING_SMTP_ADDRESS: sender_email,
        PR_SENT_REPRESENTING_ADDRTYPE: "SMTP",
        PR_DISPLAY_TO: "; ".join(name or address for name, address in to),
        PR_BODY: body,
    }
    if html is not None:
        props[PR_HTML] = html.encode("utf-8")
    if message_id is not None:
        props[PR_INTERNET_MESSAGE_ID] = message_id
    if in_reply_to is not None:
        props[PR_IN_REPLY_TO_ID] = in_reply_to
    if date is not None:
        for tag in (PR_CLIENT_SUBMIT_TIME, PR_MESSAGE_DELIVERY_TIME, PR_CREATION_TIME,
                    PR_LAST_MODIFICATION_TIME):
            props[tag] = date
    if transport_headers is not None:
        props[PR_TRANSPORT_MESSAGE_HEADERS] = transport_headers

    header = _TOP_LEVEL_HEADER.pack(len(to), len(attachments), len(to), len(attachments))
    children: list[Storage | Stream] = [_named_property_storage()]
    children += _property_streams(header, props)
    children += [_recipient_storage(i, name, address) for i, (name, address) in enumerate(to)]
    children += [_attachment_storage(i, filename, mime_type, data)
                 for i, (filename, mime_type, data) in enumerate(attachments)]
    return write_compound_file(Storage("Root Entry", tuple(children), MSG_ROOT_CLSID))


def make_transport_headers(
    *,
    subject: str,
    sender_name: str,
    sender_email: str,
    to: Sequence[tuple[str, str]],
    message_id: str | None = None,
    in_reply_to: str | None = None,
    date: datetime | None = None,
) -> str:
    """An RFC 5322 header block like the one Outlook keeps for received mail: CRLF line
    ends, non-ASCII text as RFC 2047 encoded words, ending with the blank line."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = Address(sender_name, addr_spec=sender_email)
    message["To"] = [Address(name, addr_spec=address) for name, address in to]
    message["Subject"] = subject
    if date is not None:
        message["Date"] = email.utils.format_datetime(date)
    if message_id is not None:
        message["Message-ID"] = message_id
    if in_reply_to is not None:
        message["In-Reply-To"] = in_reply_to
    message["MIME-Version"] = "1.0"
    return message.as_string()
