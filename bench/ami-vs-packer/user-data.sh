#!/bin/bash
# The provisioning of the benchmark job, for Packer's user_data_file: what the kiln recipe's one
# `run` step does. (Against moto nothing runs it; see docs/benchmarks.md.)
echo "hello from the build" > /etc/kiln-bench
