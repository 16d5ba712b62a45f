"""What the background jobs and the console's exports and imports say (Chinese, shown as is)."""

TOO_MANY = "您已有 {n} 个任务正在处理，请等它们完成后再提交。"
NO_SUCH_JOB = "没有这个导出或导入任务（可能已过期删除）。"
INTERRUPTED = "处理中断（服务重启），请重新提交。"
FAILED = "处理出错，请稍后重试；仍不行请联系管理员。"
NOT_READY = "文件还没有生成好，请稍候。"
FILE_GONE = "文件已过期删除，请重新导出。"

# exports (导出)
EXPORT_WHAT = "导出"
EXPORT_KIND = "export"
EXPORT_NAME = "{region}_{month}_走访台账.xlsx"

# registry import (导入户籍表)
IMPORT_WHAT = "导入户籍表"
IMPORT_KIND = "households_import"
IMPORT_FAILED = "导入失败，没有写入任何数据。共 {n} 处错误，见下表。"
TOO_BIG = "文件太大（最多 {mb} MB）。请拆分后再导入。"
NO_FILE = "请选择要导入的户籍表文件（CSV 或 XLSX）。"
BAD_TYPE = "只能导入 CSV 或 XLSX（Excel）文件，这个文件的内容不是这两种格式。"
