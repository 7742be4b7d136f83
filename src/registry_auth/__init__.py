"""registry-auth: pull container images from private registries."""
