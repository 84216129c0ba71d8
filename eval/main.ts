// Placeholder: the eval runner is being built.
