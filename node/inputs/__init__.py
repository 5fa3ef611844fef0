"""What operators write for the node (settings, routing rules, findings documents), read as they save it."""
