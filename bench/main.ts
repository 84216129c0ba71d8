// Placeholder: the bench runner is being built.
