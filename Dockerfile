# One image for every member state's node and for the Locust load generator (`prum kube render`).
#   docker build -t prum:latest .
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 OPENBLAS_NUM_THREADS=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY protos protos
COPY services services
COPY federation federation
COPY loadtests loadtests
RUN pip install --no-cache-dir . && useradd --uid 10001 --create-home prum
USER 10001
EXPOSE 50051
ENTRYPOINT []
CMD ["prum", "--help"]
