"""The program itself: plain async functions over storage, returning neutral replies."""
