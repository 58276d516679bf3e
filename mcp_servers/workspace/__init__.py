"""The workspace server: files of each conversation's own directory."""
