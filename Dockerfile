FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY api ./api
COPY sync_server ./sync_server
COPY storage ./storage
COPY ai_agents ./ai_agents
COPY jobs ./jobs
RUN pip install --no-cache-dir .
EXPOSE 8000
CMD ["inkweave", "serve", "--host", "0.0.0.0", "--port", "8000"]
