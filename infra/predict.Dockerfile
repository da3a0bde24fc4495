# syntax=docker/dockerfile:1.7
#
# Lambda image for the predict function (and, with ImageConfig.Command, the training submitter).
# Built by `sam build` from template.yaml (DockerContext: repo root), or by hand:
#   docker build -f infra/predict.Dockerfile -t vfc-predict:v1.0.0 .
#
# Base image: why not public.ecr.aws/lambda/python:3.11? That image is Amazon Linux 2 (glibc 2.26),
# and torch 2.14.1 / torchvision 0.29.1 / av publish only manylinux_2_28 wheels (glibc >= 2.28), so
# pip cannot install them there. The AWS "OS-only" base for Amazon Linux 2023 (glibc 2.34) plus
# AL2023's own python3.11 and the AWS runtime interface client (awslambdaric) gives the same Python
# 3.11 the project is tested on, on an AWS-maintained, patched base. Bump the dated tag (and add its
# @sha256 digest) deliberately, never to a moving tag.
ARG BASE_IMAGE=public.ecr.aws/lambda/provided:al2023.2025.11.11.00

FROM ${BASE_IMAGE}

# Optional: bake YOLO classification weights into the image (build time only; at run time YOLO_MODEL
# is a local path or an s3:// URI, never http). Example:
#   --build-arg YOLO_WEIGHTS_URL=https://github.com/ultralytics/assets/releases/download/v8.3.0/yolov8n-cls.pt
#   --build-arg YOLO_WEIGHTS_SHA256=<sha256 of that file>
# and run with YOLO_MODEL=/opt/models/yolov8n-cls.pt.
ARG YOLO_WEIGHTS_URL=""
ARG YOLO_WEIGHTS_SHA256=""

# Lambda's file system is read-only except /tmp: everything that writes at run time points there.
# YOLO_CONFIG_DIR must be set before ultralytics is imported; YOLO_OFFLINE stops its DNS look-ups.
ENV HOME=/tmp \
    YOLO_CONFIG_DIR=/tmp/Ultralytics \
    MPLCONFIGDIR=/tmp/matplotlib \
    TORCH_HOME=/tmp/torch \
    WORK_DIR=/tmp/vfc \
    YOLO_OFFLINE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:${PATH}

# Python 3.11 from the AL2023 repositories (versions follow the pinned base image's release), in a
# venv so pip never touches the system site-packages.
# hadolint ignore=DL3041
RUN dnf install -y python3.11 python3.11-pip \
    && dnf clean all \
    && rm -rf /var/cache/dnf \
    && python3.11 -m venv /opt/venv

# CPU-only torch first, from the PyTorch CPU index: the default PyPI wheels are CUDA builds that add
# several GB of CUDA libraries a Lambda can never use. `.[predict]` below then finds torch==2.14.1
# (2.14.1+cpu satisfies it) and does not replace it.
RUN pip install --index-url https://download.pytorch.org/whl/cpu \
        torch==2.14.1 torchvision==0.29.1 \
    && pip install awslambdaric==4.2.2

WORKDIR /build
COPY pyproject.toml ./
COPY functions ./functions

# The project with the predict extra, installed (not editable) into the venv; its versions are pinned
# in pyproject.toml. Ultralytics pulls opencv-python, which needs libGL (absent here); the headless
# build ships the same cv2 module without it. Remove the GUI build first: both write cv2/, so the
# last one installed wins. The import check (the create_app() at import needs only BUCKET_NAME)
# fails the build rather than the first cold start.
# hadolint ignore=DL3013
RUN pip install ".[predict]" \
    && pip uninstall -y opencv-python \
    && pip install --no-deps opencv-python-headless==4.12.0.88 \
    && BUCKET_NAME=import-check python -c "import cv2, torch, ultralytics, functions.predict.handler, functions.train.submit" \
    && rm -rf /build /tmp/* "${HOME}"/.cache

WORKDIR /var/task

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN if [ -n "${YOLO_WEIGHTS_URL}" ]; then \
        mkdir -p /opt/models \
        && python -c "import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])" \
            "${YOLO_WEIGHTS_URL}" "/opt/models/$(basename "${YOLO_WEIGHTS_URL}")" \
        && if [ -n "${YOLO_WEIGHTS_SHA256}" ]; then \
            echo "${YOLO_WEIGHTS_SHA256}  /opt/models/$(basename "${YOLO_WEIGHTS_URL}")" | sha256sum -c -; \
        fi; \
    fi

# The runtime interface client talks to the Lambda Runtime API (and to the emulator that
# `sam local` injects); CMD is the handler, which ImageConfig.Command overrides for the submitter.
ENTRYPOINT ["/opt/venv/bin/python", "-m", "awslambdaric"]
CMD ["functions.predict.handler.lambda_handler"]
