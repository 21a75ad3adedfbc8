"""Pure Block Kit builders: data in, `slack_sdk.models` blocks out."""
