FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY core core
COPY storage storage
COPY services services
COPY handlers handlers
COPY tasks tasks
COPY bot bot
COPY data data
RUN pip install --no-cache-dir ".[s3]"
ENV CUNBOT_VAR_DIR=/app/var CUNBOT_MEDIA_DIR=/app/var/media
EXPOSE 8080
CMD ["cunbot", "run"]
