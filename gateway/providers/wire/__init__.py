"""Sans-I/O wire formats of the OpenAI and Anthropic APIs: bytes and parsed JSON in, dicts and bytes out.

Validation (``openai_chat``, ``anthropic_messages``), translation named by direction (``openai_to_anthropic``,
``anthropic_to_openai`` and their ``_stream`` state machines), ``sse`` decoding and encoding, ``usage``
counting and ``error_bodies``. Nothing here does I/O or reads a clock; import the modules you need.
"""
