"""The trap and inform receiver, on pysnmp 7's asyncio API.

Who may send:
- **SNMPv3** (traps and informs), with the USM users of the estate's snmp_profiles, keys resolved
  from their references when the receiver starts and never logged.
- **SNMPv2c** only with a community the inventory or the command line names (a secret
  reference); with none, v2c is refused (pysnmp counts it as a bad community and it is logged).

**Engine IDs.** An inform's authoritative engine is the receiver's own: the sender discovers it
(RFC 3414 discovery), and the users configured for the local engine answer it. A *trap*'s
authoritative engine is the sender's, so USM needs the user localised to each sender's engine
ID (snmptrapd's `createUser -e ID`). Rather than list every device's engine ID in the inventory,
the receiver learns it: before pysnmp sees a v3 datagram, its header (msgAuthoritativeEngineID,
msgUserName; both in clear text) is read, and if the source address is an inventory device
whose profile has that user, the user is added for that engine ID with the device's keys. The
message is then authenticated as usual: a wrong key is still a wrong digest. Only inventory
addresses are learnt, and at most MAX_ENGINE_IDS per address, so spoofed datagrams cannot grow
the table; an address whose engine ID changes (a replaced agent) is noted in the log.

Every datagram ends as one record: accepted (with what it meant), or refused and why (wrong
digest, unknown user, bad community, undecryptable, unparseable), always with its source.
Nothing a sender does can end the receiver: each datagram is handled inside its own try.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from pyasn1.codec.ber import decoder
from pyasn1.error import PyAsn1Error
from pyasn1.type.univ import OctetString
from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config
from pysnmp.entity.engine import SnmpEngine
from pysnmp.entity.rfc3413 import ntfrcv
from pysnmp.proto.mpmod.rfc3412 import SNMPv3Message
from pysnmp.proto.secmod.rfc3414.service import UsmSecurityParameters

from jinbao.netns import inside

from .notify import addresses
from .snmp import AUTH, PRIV, Credentials

MAX_ENGINE_IDS = 4

# Counters pysnmp raises when it refuses a message, and what each means to an operator.
REFUSALS = {
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsWrongDigests"): "wrong_auth_key",
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsUnknownUserNames"): "unknown_user",
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsDecryptionErrors"): "wrong_priv_key",
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsUnsupportedSecLevels"): "security_level",
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsNotInTimeWindows"): "time_window",
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsUnknownEngineIDs"): "unknown_engine_id",
    ("__SNMPv2-MIB", "snmpInBadCommunityNames"): "bad_community",
    ("__SNMPv2-MIB", "snmpInASNParseErrs"): "unparseable",
    ("__SNMPv2-MIB", "snmpInBadVersions"): "bad_version",
}


@dataclass(frozen=True)
class Sender:
    """An inventory device that may send: its name and its profile's credentials."""

    device: str
    creds: Credentials | None


@dataclass
class Config:
    listen: str = "127.0.0.1"
    port: int = 1162
    netns: str | None = None
    senders: dict[str, Sender] = field(default_factory=dict)  # by management address
    communities: list[str] = field(default_factory=list, repr=False)  # resolved v2c communities


def v3_header(datagram: bytes) -> tuple[bytes, bytes] | None:
    """(msgAuthoritativeEngineID, msgUserName) of an SNMPv3 message, or None if it is not one."""
    try:
        msg, _ = decoder.decode(datagram, asn1Spec=SNMPv3Message())
        if int(msg["msgVersion"]) != 3:
            return None
        sp, _ = decoder.decode(bytes(msg["msgSecurityParameters"]), asn1Spec=UsmSecurityParameters())
        return bytes(sp["msgAuthoritativeEngineId"]), bytes(sp["msgUserName"])
    except (PyAsn1Error, ValueError, TypeError, KeyError):
        return None


class _Transport(udp.UdpAsyncioTransport):
    """pysnmp's UDP transport, with a hook around each datagram (see Receiver.datagram)."""

    receiver: Receiver

    def datagram_received(self, datagram, transportAddress):
        self.receiver.datagram(self, datagram, transportAddress)

    def process(self, datagram, address):
        # pysnmp would call_soon() this; called here instead, so that the receiver knows which
        # datagram a notification (or a refusal counter) came from.
        self._callback_function(self, address, datagram)


class Receiver:
    """Receives notifications and hands each datagram's outcome to `on_record`, a dict:
    {source, device, outcome: accepted|refused|unknown_sender, why, version, trap, varbinds}."""

    def __init__(self, cfg: Config, on_record: Callable[[dict], None]):
        self.cfg = cfg
        self.on_record = on_record
        self.engine_ids: dict[str, list[bytes]] = {}
        self._current: dict | None = None
        self.engine = SnmpEngine()
        self.transport: _Transport | None = None
        self._counters = {
            key: self.engine.get_mib_builder().import_symbols(*key)[0]  # type: ignore[index]
            for key in REFUSALS
        }
        users: dict[str, Credentials] = {}
        for s in cfg.senders.values():
            if s.creds is not None and s.creds.user not in users:
                users[s.creds.user] = s.creds
        # Informs: the receiver is the authoritative engine; one entry per user name.
        for c in users.values():
            self._add_user(c, None)
        for i, community in enumerate(cfg.communities):
            config.add_v1_system(self.engine, f"jinbao-v2c-{i}", community)
        self._ntf = ntfrcv.NotificationReceiver(self.engine, self._notification)

    def _add_user(self, c: Credentials, engine_id: bytes | None) -> None:
        config.add_v3_user(
            self.engine,
            c.user,
            AUTH[c.auth_protocol],
            c.auth_key,
            PRIV[c.priv_protocol],
            c.priv_key,
            securityEngineId=OctetString(engine_id) if engine_id is not None else None,
        )

    def open(self) -> tuple[str, int]:
        """Bind the socket (in cfg.netns when given) and register it; the address bound."""

        def bound() -> socket.socket:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((self.cfg.listen, self.cfg.port))
            return s

        sock = inside(self.cfg.netns, bound)
        t = _Transport()
        t.receiver = self
        self.transport = t.open_server_mode(sock=sock)
        config.add_transport(self.engine, udp.DOMAIN_NAME, self.transport)
        host, port = sock.getsockname()[:2]
        return str(host), int(port)

    def close(self) -> None:
        self.engine.close_dispatcher()

    def _snapshot(self) -> dict:
        return {k: int(v.syntax) for k, v in self._counters.items()}

    def _learn(self, address: str, header: tuple[bytes, bytes]) -> str | None:
        """Configure the user for the sender's engine ID, if the sender is ours; a note or None."""
        engine_id, user = header
        sender = self.cfg.senders.get(address)
        if (
            sender is None
            or sender.creds is None
            or not engine_id
            or user.decode(errors="replace") != sender.creds.user
        ):
            return None
        known = self.engine_ids.setdefault(address, [])
        if engine_id in known:
            return None
        if len(known) >= MAX_ENGINE_IDS:
            return f"engine ID {engine_id.hex()} not learnt: {address} already used {len(known)}"
        note = f"engine ID {engine_id.hex()} learnt" + (f" (was {known[-1].hex()})" if known else "")
        known.append(engine_id)
        self._add_user(sender.creds, engine_id)
        return note

    def _forget(self, address: str, header: tuple[bytes, bytes]) -> None:
        engine_id, user = header
        self.engine_ids.get(address, []).remove(engine_id)
        config.delete_v3_user(self.engine, user.decode(errors="replace"), securityEngineId=OctetString(engine_id))

    def datagram(self, transport: _Transport, data: bytes, address) -> None:
        source = str(address[0])
        sender = self.cfg.senders.get(source)
        rec: dict = {"source": f"{source}:{address[1]}", "device": sender.device if sender else None}
        try:
            header = v3_header(data)
            rec["version"] = "v3" if header else "v1/v2c"
            learnt = False
            if header:
                rec["user"] = header[1].decode(errors="replace")
                note = self._learn(source, header)
                if note:
                    rec["note"] = note
                    learnt = note.endswith("learnt") or "learnt (was" in note
            before = self._snapshot()
            self._current = rec
            transport.process(data, address)
            if "outcome" not in rec:
                after = self._snapshot()
                why = [REFUSALS[k] for k in REFUSALS if after[k] > before[k]]
                rec["outcome"] = "refused"
                rec["why"] = ", ".join(why) or "dropped by the SNMP engine (not a notification, or not for us)"
                if header and not header[1] and why == ["unknown_engine_id"]:
                    # An inform's sender first asks for the receiver's engine ID (RFC 3414 4).
                    rec |= {"outcome": "discovery", "why": "engine ID discovery (an inform follows)"}
                if learnt and header:
                    self._forget(source, header)
                    rec["note"] += ", then forgotten: the message did not authenticate"
        except Exception as e:  # one bad datagram must not end the receiver
            rec |= {"outcome": "refused", "why": f"unparseable: {type(e).__name__}: {e}"}
        finally:
            self._current = None
        self.on_record(rec)

    def _notification(self, engine, state_ref, context_engine_id, context_name, varbinds, ctx) -> None:
        rec = self._current if self._current is not None else {}
        rec["varbinds"] = {tuple(oid): value for oid, value in varbinds}
        rec["outcome"] = "accepted" if rec.get("device") else "unknown_sender"
        if rec["outcome"] == "unknown_sender":
            rec["why"] = "the source address is no device of the estate"


def senders(estate, found: dict, resolve_creds: Callable) -> dict[str, Sender]:
    """Senders by management address: each device of the estate the targets name (address from
    the target), else every device of the estate (its mgmt_ip), with its profile's credentials."""
    return {
        address: Sender(name, resolve_creds(name, found.get(name)))
        for address, name in addresses(estate, found).items()
    }
