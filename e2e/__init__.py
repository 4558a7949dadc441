"""End-to-end tests: a real etcd and kube-apiserver as local processes, driven with kubectl and helm.

Run with `bash e2e/controlplane/build.sh && .venv/bin/pytest e2e`; see e2e/README.md.
"""
