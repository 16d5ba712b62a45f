"""User-facing text of the channel layer (Chinese), in one place."""

MENU_HINT = "（回复数字即可选择）"
PHOTO_TOO_BIG = "照片太大了，请发送 10 MB 以内的照片。"
PHOTO_DOWNLOAD_FAILED = "照片没有收到，请稍后重新发送。"
UNSUPPORTED = "暂时只能接收文字、照片和位置。请换成文字或照片发送。"
