"""Rule-agnostic analyses rules ask for: qualified names, constant folding and decoding, data flow."""
