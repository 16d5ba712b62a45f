"""Plays WeCom's side of the callback protocol: builds encrypted, signed callbacks.

Written from the protocol description, independently of bot/channels/wecom/crypto.py, so a
shared misreading would not hide: AES-256-CBC with key = b64decode(EncodingAESKey + "="),
IV = key[:16], plaintext = random(16) + len(4, big endian) + xml + corp id, PKCS#7 to 32.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

_nonces = itertools.count(1000)


@dataclass
class Callback:
    params: dict[str, str]
    body: bytes


class WeComClient:
    def __init__(self, token: str, aes_key: str, corp_id: str) -> None:
        self.token = token
        self.key = base64.b64decode(aes_key + "=")
        self.corp_id = corp_id

    def encrypt(
        self, message: bytes, *, receive_id: str | None = None, bad_pad: bool = False
    ) -> str:
        rid = (self.corp_id if receive_id is None else receive_id).encode()
        plain = os.urandom(16) + struct.pack("!I", len(message)) + message + rid
        amount = 32 - len(plain) % 32
        plain += bytes([amount]) * amount
        if bad_pad:  # a pad byte larger than 32 (the AES block length stays valid)
            plain = plain[:-1] + b"\x33"
        enc = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).encryptor()
        return base64.b64encode(enc.update(plain) + enc.finalize()).decode()

    def sign(self, timestamp: str, nonce: str, encrypted: str) -> str:
        parts = sorted([self.token, timestamp, nonce, encrypted])
        return hashlib.sha1("".join(parts).encode()).hexdigest()

    def callback(
        self,
        xml: str | bytes,
        timestamp: int,
        *,
        receive_id: str | None = None,
        bad_pad: bool = False,
        signature: str | None = None,
    ) -> Callback:
        raw = xml.encode() if isinstance(xml, str) else xml
        encrypted = self.encrypt(raw, receive_id=receive_id, bad_pad=bad_pad)
        nonce = str(next(_nonces))
        ts = str(timestamp)
        body = (
            f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
            f"<AgentID><![CDATA[1000002]]></AgentID>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        ).encode()
        params = {
            "msg_signature": signature or self.sign(ts, nonce, encrypted),
            "timestamp": ts,
            "nonce": nonce,
        }
        return Callback(params, body)

    def echo(self, echo: str, timestamp: int) -> dict[str, str]:
        encrypted = self.encrypt(echo.encode())
        nonce = str(next(_nonces))
        ts = str(timestamp)
        return {
            "msg_signature": self.sign(ts, nonce, encrypted),
            "timestamp": ts,
            "nonce": nonce,
            "echostr": encrypted,
        }


def text_xml(user: str, content: str, msg_id: str, create_time: int) -> str:
    return (
        f"<xml><ToUserName><![CDATA[corp]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName><CreateTime>{create_time}</CreateTime>"
        f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
        f"<MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>"
    )


def image_xml(user: str, media_id: str, msg_id: str, create_time: int) -> str:
    return (
        f"<xml><ToUserName><![CDATA[corp]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName><CreateTime>{create_time}</CreateTime>"
        f"<MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://x/y.jpg]]></PicUrl>"
        f"<MediaId><![CDATA[{media_id}]]></MediaId><MsgId>{msg_id}</MsgId>"
        f"<AgentID>1000002</AgentID></xml>"
    )


def location_xml(
    user: str, lat: float, lon: float, label: str, msg_id: str, create_time: int
) -> str:
    return (
        f"<xml><ToUserName><![CDATA[corp]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName><CreateTime>{create_time}</CreateTime>"
        f"<MsgType><![CDATA[location]]></MsgType><Location_X>{lat}</Location_X>"
        f"<Location_Y>{lon}</Location_Y><Scale>15</Scale><Label><![CDATA[{label}]]></Label>"
        f"<MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>"
    )


def event_xml(user: str, event: str, key: str, create_time: int) -> str:
    return (
        f"<xml><ToUserName><![CDATA[corp]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName><CreateTime>{create_time}</CreateTime>"
        f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>"
        f"<EventKey><![CDATA[{key}]]></EventKey><AgentID>1000002</AgentID></xml>"
    )


def card_event_xml(user: str, key: str, task_id: str, code: str, create_time: int) -> str:
    """A tap on a template card's button (Event template_card_event)."""
    return (
        f"<xml><ToUserName><![CDATA[corp]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName><CreateTime>{create_time}</CreateTime>"
        f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event>"
        f"<EventKey><![CDATA[{key}]]></EventKey><TaskId><![CDATA[{task_id}]]></TaskId>"
        f"<CardType><![CDATA[button_interaction]]></CardType>"
        f"<ResponseCode><![CDATA[{code}]]></ResponseCode><AgentID>1000002</AgentID></xml>"
    )


def voice_xml(
    user: str, media_id: str, msg_id: str, create_time: int, recognition: str | None = None
) -> str:
    """A voice message (AMR); ``recognition`` as WeCom adds it when speech recognition is on."""
    words = "" if recognition is None else f"<Recognition><![CDATA[{recognition}]]></Recognition>"
    return (
        f"<xml><ToUserName><![CDATA[corp]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName><CreateTime>{create_time}</CreateTime>"
        f"<MsgType><![CDATA[voice]]></MsgType><Format><![CDATA[amr]]></Format>"
        f"<MediaId><![CDATA[{media_id}]]></MediaId>{words}<MsgId>{msg_id}</MsgId>"
        f"<AgentID>1000002</AgentID></xml>"
    )
