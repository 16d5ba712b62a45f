"""User-facing text of the channel layer (Chinese), in one place: what every channel says
about a message it cannot take (too long, a photo too big or unreadable, an unknown type)."""

from core.messages import MAX_TEXT
from services.media import MAX_IMAGE_BYTES

MENU_HINT = "（回复数字即可选择）"
TOO_LONG = f"消息太长了（最多 {MAX_TEXT} 字），请分几条发送。"
PHOTO_TOO_BIG = f"照片太大了，请发送 {MAX_IMAGE_BYTES // 1024 // 1024} MB 以内的照片。"
PHOTO_DOWNLOAD_FAILED = "照片没有收到，请稍后重新发送。"
PHOTO_GONE = "照片没有收到（照片已失效或无法下载），请重新拍摄或发送。"
VOICE_DOWNLOAD_FAILED = "语音没有收到，请稍后重新发送。"
VOICE_GONE = "语音没有收到（语音已失效或无法下载），请重新录制。"
UNSUPPORTED = "暂时只能接收文字、照片、语音和位置。请换成文字或照片发送。"
