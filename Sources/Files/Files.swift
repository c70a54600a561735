// Files: small file-system helpers shared by every layer (atomic writes, JSON lines).
