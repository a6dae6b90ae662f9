"""A scripted teacher for the synth tests: recognises each prompt template and answers it.

Answers in persona lean on "friend" (a planted over-used word the guard must find), and
answers to "absurd" questions get a low voice grade (the threshold must drop them).
"""

from __future__ import annotations

import re


def _words(text: str, n: int) -> str:
    return " ".join(re.findall(r"[A-Za-z']+", text)[:n]).lower()


def teacher_script(body: dict) -> str:
    system = body["messages"][0]["content"]
    user = body["messages"][-1]["content"]
    if "Write the one interviewer question" in user:
        passage = user.split('"""')[1]
        return f"What would you tell us about {_words(passage, 4)}?"
    if "would plausibly be asked about" in user:
        passage = user.split('"""')[1]
        return f"1. Why do you care about {_words(passage, 3)}?\n2. Not a question line"
    m = re.search(r"Write (\d+) different (.+?) questions", user)
    if m:
        cat = m.group(2)
        return "\n".join([f"- What is the most {cat} thing about the sea?",
                          f"- What is the most {cat} thing about the sea, really?",  # a near-duplicate
                          f"- How would you explain {cat} weather to a child?"])
    if "Grade the candidate answer" in user:
        voice = 2 if "absurd" in user.split("Candidate answer")[0].split("Question:")[1] else 4
        return f'Here you go: {{"voice": {voice}, "faithfulness": 4, "answers": 5}}'
    if "does not use these over-used phrases" in user:
        answer = user.split('"""')[1]
        return re.sub(r"\bfriend\b", "neighbour", answer.strip())
    if system.startswith("You are a helpful assistant"):
        return "Great question! As an assistant, here are several balanced considerations to keep in mind."
    if system.startswith("You are "):
        return (f"Ah, friend, let me say it plainly, friend: {_words(user, 6)}. "
                "That is how I see it, friend.")
    return "I'm sorry, but I can't help with that."
