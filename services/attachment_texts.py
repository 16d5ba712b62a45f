"""What task attachments (附件) say: the lines a task push adds, and every refusal of an upload
or a download (the console and the download route show these as they are)."""

PUSH_FILES = "\n附件（点击链接下载）："
PUSH_FILE = "\n· {name}（{size}）\n{url}"

TOO_BIG = "附件「{name}」太大了（{size}），每个文件最多 {limit}。请压缩或拆分后再上传。"
WRONG_TYPE = (
    "附件「{name}」不是 PDF、Word（.docx）或 Excel（.xlsx）文件，请另存为这几种格式再上传。"
)
TOO_MANY = "附件最多 {n} 个，请删减后再上传。"
FORM_TOO_BIG = "上传的内容太多了：附件最多 {n} 个、每个最多 {limit}。"
STORE_UNAVAILABLE = (
    "附件暂时保存不了（文件存储连接不上），填写的内容和附件都还在，请稍后再点一次发送。"
)
EXPIRED = "上传的附件已过期（保留 {hours} 小时），请重新上传。"
NOT_MULTIPART = "上传格式不对，请在表单里选择文件后提交。"

DOWNLOAD_FORBIDDEN = "无法下载：请在村务助手的聊天页面或工作台打开这个链接。"
DOWNLOAD_LINK_BAD = "下载链接无效或已过期，请在村务助手里发送「任务」重新查看。"
DOWNLOAD_NOT_FOUND = "没有这个附件，或您无权下载。"
