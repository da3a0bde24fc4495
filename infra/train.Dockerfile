# syntax=docker/dockerfile:1.7
#
# GPU training image for the AWS Batch job (`python -m functions.train.job`).
#   docker build -f infra/train.Dockerfile -t vfc-train:v1.0.0 .
#
# CUDA: torch==2.14.1 from PyPI is a CUDA 13.0 build (torch.version.cuda == "13.0") and brings its
# own CUDA runtime, cuBLAS and cuDNN as pip packages. The base image therefore only needs the CUDA
# base layer (the `-base-` flavour; `-runtime-` would ship a second ~2 GB copy of the same libraries),
# and the host needs an NVIDIA driver new enough for CUDA 13 (>= 580), which the ECS_AL2023_NVIDIA
# AMI provides; check with: aws ssm get-parameter --name
#   /aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended
# Pinned tags only; bump deliberately.
ARG CUDA_IMAGE=nvidia/cuda:13.0.0-base-ubuntu24.04
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

# ---------------------------------------------------------------------------------------------------
# builder: a uv-managed CPython 3.11 and a venv with the project's `train` extra
# ---------------------------------------------------------------------------------------------------
FROM ${CUDA_IMAGE} AS builder

COPY --from=uv /uv /usr/local/bin/uv

ENV UV_PYTHON_INSTALL_DIR=/opt/python \
    UV_PYTHON_PREFERENCE=only-managed \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1

# Same Python minor as the Lambda image and the tests (3.11), not Ubuntu 24.04's system 3.12.
RUN uv python install 3.11 \
    && uv venv --python 3.11 /opt/venv

WORKDIR /src
COPY pyproject.toml ./
COPY functions ./functions

# The CUDA torch build is PyPI's default for Linux x86_64; pinned by the extra (torch==2.14.1).
RUN uv pip install --python /opt/venv/bin/python ".[train]"

# ---------------------------------------------------------------------------------------------------
# runtime: the CUDA base, the interpreter and the venv, a non-root user
# ---------------------------------------------------------------------------------------------------
FROM ${CUDA_IMAGE}

# OpenCV (pulled by ultralytics) needs libGL and GLib; ca-certificates for HTTPS to S3 and Label Studio.
# Versions follow the pinned base image's Ubuntu release (security updates come from there).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libgl1 libglib2.0-0t64 \
    && rm -rf /var/lib/apt/lists/*

COPY --from=builder /opt/python /opt/python
COPY --from=builder /opt/venv /opt/venv

RUN useradd --uid 10001 --create-home --shell /usr/sbin/nologin trainer

ENV PATH=/opt/venv/bin:${PATH} \
    VIRTUAL_ENV=/opt/venv \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/home/trainer \
    YOLO_CONFIG_DIR=/tmp/Ultralytics \
    YOLO_OFFLINE=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    WORK_DIR=/tmp/vfc

USER 10001
WORKDIR /home/trainer

ENTRYPOINT ["python", "-m", "functions.train.job"]
