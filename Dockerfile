# leakwatch in a container: a non-root user; the store, its key and the configuration are
# volumes, never baked into the image.
#
#   docker build -t leakwatch .
#   docker run --rm -v lw-store:/var/lib/leakwatch -v "$PWD/confidential:/data:ro" leakwatch index add /data
#   docker run --rm -v lw-store:/var/lib/leakwatch -v /srv/vendors:/srv/vendors:ro leakwatch scan /srv/vendors
#
# The key is created 0600 inside the store volume by the first `index add`; to keep it apart
# from the store (as a shared Redis store requires), mount it read-only and name it in the
# configuration: -v /etc/leakwatch:/etc/leakwatch:ro -e LEAKWATCH_CONFIG=/etc/leakwatch/leakwatch.toml
FROM python:3.11-slim-bookworm

# System packages the readers need (README, "Formats"): OCR (tesseract), Word 97-2003 (catdoc),
# PowerPoint 97-2003 (LibreOffice Impress, headless).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng catdoc libreoffice-impress-nogui \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 leakwatch \
    && useradd --system --uid 10001 --gid leakwatch --home-dir /var/lib/leakwatch --shell /usr/sbin/nologin leakwatch \
    && install -d -o leakwatch -g leakwatch -m 0700 /var/lib/leakwatch

WORKDIR /opt/leakwatch
COPY pyproject.toml README.md LICENSE ./
COPY leakwatch ./leakwatch
# The project itself, from this checkout (its dependencies' ranges are in pyproject.toml).
# hadolint ignore=DL3013
RUN pip install --no-cache-dir '.[fast]'

USER 10001:10001
ENV LEAKWATCH_STORE=/var/lib/leakwatch/store \
    PYTHONDONTWRITEBYTECODE=1
VOLUME ["/var/lib/leakwatch"]
WORKDIR /var/lib/leakwatch
ENTRYPOINT ["leakwatch"]
CMD ["--help"]
