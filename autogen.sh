#!/bin/sh
# Regenerates configure and the Makefile templates from the sources.
set -e
cd "$(dirname "$0")"
autoreconf --install --force --warnings=all
