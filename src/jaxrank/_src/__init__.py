"""Private implementation of jaxrank; import from `jaxrank` instead."""
