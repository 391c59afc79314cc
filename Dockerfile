# Style Lens: the Streamlit app in a container. docs/deploy.md explains every option.
#   CPU (default):  docker build -t style-lens .
#   CUDA:           docker build -t style-lens:cuda --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu126 .
#   Another base:   --build-arg BASE_IMAGE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04 (it must bring python3.10+ and pip)
#   Offline build:  --build-arg STYLE_LENS_WEIGHTS=random (no ImageNet download; the seeded random weights)
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

# The index torch's wheels come from: CPU-only wheels keep the image about 2 GB smaller than CUDA ones.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
# Optional extras of the package, e.g. "ray" for STYLE_LENS_EXECUTOR=ray (empty: none).
ARG EXTRAS=""
# "auto" (default): the build downloads the ImageNet VGG19 file (548 MB) into the image, checked against the
# SHA-256 torchvision publishes in its name, so a hosted demo stylises with trained features out of the box.
# "random": an offline build, no download; the app runs on the seeded random weights.
ARG STYLE_LENS_WEIGHTS=auto
# A mirror of that file, under the same file name (empty: torchvision's own address).
ARG NST_VGG19_WEIGHTS_URL=""

# TORCH_HOME is inside the image, not the /data volume: a bind-mounted /data would hide a baked file.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STYLE_LENS_DATA=/data \
    TORCH_HOME=/opt/torch \
    STYLE_LENS_WEIGHTS=${STYLE_LENS_WEIGHTS} \
    STREAMLIT_SERVER_PORT=8501 \
    STREAMLIT_SERVER_ADDRESS=0.0.0.0 \
    STREAMLIT_SERVER_HEADLESS=true \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false

# uid 1000: the user Hugging Face Spaces runs containers as, and the usual first user of a host.
RUN useradd --create-home --uid 1000 lens \
    && mkdir -p /data /opt/torch \
    && chown -R lens:lens /data /opt/torch

WORKDIR /app

# The dependencies first, in their own layer: editing the app does not reinstall torch.
COPY requirements.txt ./
RUN python3 -m pip install --extra-index-url "${TORCH_INDEX}" -r requirements.txt

# The weights, before the app's files so that editing the app does not download them again. torch.hub checks
# the file's SHA-256 against the prefix torchvision publishes in its name (vgg19-dcbb9e9d.pth) and keeps
# nothing that differs; a failed download fails the build. As the app's user, who may then replace the file.
USER 1000:1000
RUN if [ "${STYLE_LENS_WEIGHTS}" != "random" ]; then \
        python3 -c "import os, torch; from torchvision.models import VGG19_Weights as W; torch.hub.load_state_dict_from_url(os.environ.get('NST_VGG19_WEIGHTS_URL') or W.IMAGENET1K_V1.url, check_hash=True, progress=False, weights_only=True)"; \
    fi
USER 0

COPY --chown=lens:lens . .
# This project itself (and its optional extras), whose versions pyproject.toml bounds: nothing to pin here.
# hadolint ignore=DL3013
RUN python3 -m pip install --extra-index-url "${TORCH_INDEX}" --no-deps . \
    && if [ -n "${EXTRAS}" ]; then python3 -m pip install --extra-index-url "${TORCH_INDEX}" ".[${EXTRAS}]"; fi

# Numeric, so that runtimes that check for a non-root user (Kubernetes' runAsNonRoot) can.
USER 1000:1000
VOLUME ["/data"]
EXPOSE 8501

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"]

CMD ["python3", "-m", "streamlit", "run", "app.py"]
