"""Worker pools: the local process pool, Ray, the autoscaler and clean shutdown."""
