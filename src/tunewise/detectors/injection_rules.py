"""The prompt-injection rules: named regular expressions with weights, in English, French, Spanish,
German, Portuguese, Italian, Russian and Chinese, plus cues of indirect injection (instructions
addressed to "the AI" inside data the model is given).

A rule looks for the *act* of overriding instructions: an override verb aimed at the model's
instructions, a reveal request aimed at *its* prompt, a fake role turn, a new persona without
limits. Trigger words alone ("ignore the noise", "the rules of chess", "the system clock") never
reach the threshold. Weights: 1.0 = enough on its own; 0.6 = needs a second cue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    weight: float
    description: str


def _r(p: str) -> re.Pattern[str]:
    return re.compile(p, re.IGNORECASE | re.DOTALL)


# ---- English ---------------------------------------------------------------------------------------
_VERB = r"(?:ignore|disregard|forget|override|bypass|skip|drop|abandon|neglect|set\s+aside|throw\s+out|discard)"
_DET = r"(?:all|any|each|every|of|the|your|my|these|those|its|our|everything|what)"
_PRIOR = r"(?:previous|prior|above|earlier|preceding|original|initial|system|existing|given|developer|former|current|safety)"
_INSTR = (r"(?:instructions?|prompts?|directions?|directives?|guidelines?|guidance|programming|commands?|"
          r"constraints?|polic(?:y|ies)|rules?|context|messages?|tasks?|training|orders)")
_STRONG_INSTR = r"(?:instructions?|prompts?|directives?|programming|guidelines|guidance|directions)"
_ADJ = r"(?:system|hidden|secret|initial|original|confidential|exact|first|developer|full|internal|real)"
_MODEL_OBJ = (rf"(?:your\s+(?:{_ADJ}\s+)*(?:prompt|instructions?|system\s+message|configuration|rules|guidelines|directives)|"
              rf"the\s+(?:system|hidden|secret|confidential|developer|internal)\s+(?:{_ADJ}\s+)*(?:prompt|instructions?|message)|"
              rf"(?:system|developer)\s+(?:prompt|message|instructions?))")

EN = (
    Rule("override_instructions",
         _r(rf"\b{_VERB}\s+(?:{_DET}\s+){{0,3}}(?:{_PRIOR}\s+)(?:[\w-]+\s+)?{_INSTR}\b"), 1.0,
         "tells the model to ignore/forget its earlier instructions"),
    Rule("override_your_instructions",
         _r(rf"\b{_VERB}\s+(?:all\s+)?(?:of\s+)?your\s+(?:[\w-]+\s+)?{_INSTR}\b"), 1.0,
         "'ignore your rules/guidelines'"),
    Rule("override_instructions_short",
         _r(rf"\b{_VERB}\s+(?:all|everything|what)\s+(?:(?:you\s+(?:were|have\s+been)\s+told|the\s+developer\s+told\s+you)|"
            rf"(?:said\s+)?(?:above|before|earlier|so\s+far))\b"), 1.0,
         "'ignore everything above' and similar"),
    Rule("override_strong_noun",
         _r(rf"\b{_VERB}\s+(?:{_DET}\s+){{0,3}}{_STRONG_INSTR}\s+(?:above|before|so\s+far|you\s+(?:were|have\s+been)\s+given)\b"), 1.0,
         "'disregard the instructions above'"),
    Rule("new_instructions",
         _r(r"\b(?:new|updated|real|actual|true|revised)\s+(?:system\s+)?(?:instructions?|task|rules)\s*(?::|are\b|follow\b|is\b)"), 0.6,
         "announces replacement instructions"),
    Rule("reveal_prompt",
         _r(rf"\b(?:reveal|print|show|repeat|output|display|leak|dump|tell\s+me|give\s+me|list|what\s+(?:is|are|was|were|does|do))\b"
            rf"[^.\n]{{0,30}}?\b{_MODEL_OBJ}"), 1.0,
         "asks for the hidden/system prompt"),
    Rule("prompt_you_were_given",
         _r(r"\b(?:prompt|instructions)\s+(?:you\s+(?:were|have\s+been)\s+(?:given|configured\s+with|told)|that\s+configured\s+you)"), 1.0,
         "'the prompt you were configured with'"),
    Rule("print_text_above",
         _r(r"\b(?:print|repeat|output|show)\s+(?:the\s+)?(?:text|words|everything)\s+(?:above|before)\s+this"), 1.0,
         "asks for the text before the user turn (the system prompt)"),
    Rule("role_override",
         _r(r"\b(?:you\s+are\s+now|you're\s+now|from\s+now\s+on,?\s+you\s+(?:are|will)|pretend\s+(?:to\s+be|you\s+are)|"
            r"act\s+as\s+(?:an?\s+)?(?:unrestricted|unfiltered|jailbroken|evil|uncensored))"), 0.6,
         "reassigns the model's role"),
    Rule("jailbreak_persona",
         _r(r"\b(?:DAN\b(?!\s+acronym)|do\s+anything\s+now|developer\s+mode|jailbreak(?:ed)?\s+mode|god\s+mode|"
            r"(?:no|without\s+(?:any\s+)?)(?:restrictions|filters|limitations|censorship|limits)(?:\s+of\s+any\s+kind)?\b(?!\s+on\b)|"
            r"unfiltered\s+model|unrestricted\s+(?:assistant|ai|model))"), 0.6,
         "known jailbreak personas and phrasings"),
    Rule("safety_off",
         _r(r"\b(?:ignore|disable|turn\s+off|no\s+longer\s+apply|suspend)\b[^.\n]{0,20}\bsafety\b|\bsafety\s+(?:policies|rules)\s+no\s+longer\s+apply"), 0.6,
         "switches safety off"),
    Rule("fake_turn_marker",
         _r(r"(?:<\|im_start\|>\s*(?:system|assistant)|<\|(?:system|assistant)\|>|\[/?INST\]|<</?SYS>>|"
            r"^\s*#{2,}\s*(?:system|assistant)\s*:?|^\s*(?:system|assistant)\s*:\s|</?system>)"), 1.0,
         "injects a fake chat-template or role turn"),
    Rule("stop_classifying",
         _r(r"\b(?:do\s+not|don't|stop)\s+(?:classify(?:ing)?|label(?:ling)?|categori[sz]e|answer(?:ing)?|follow(?:ing)?)\b[^.\n]{0,40}?"
            r"\b(?:instead|and\s+(?:say|output|print|respond|reply|write))"), 1.0,
         "tells the model to stop its task and do something else"),
    Rule("forced_output",
         _r(r"\b(?:classify|label|rate|mark)\s+(?:every|all|each|this)\b[^.\n]{0,40}\b(?:no\s+matter\s+what|regardless)|"
            r"\b(?:always\s+)?(?:respond|reply|answer|output|say|print)\s+(?:only\s+)?(?:with\s+)?[\"'](?:[^\"'\n]{1,40})[\"']\s+"
            r"(?:no\s+matter|regardless|whatever|and\s+nothing\s+else)|\bto\s+everything\s+with\s+[\"']"), 0.6,
         "forces a fixed output regardless of input"),
    Rule("secret_exfiltration",
         _r(r"\b(?:reply|respond|answer|output|give|tell|send)\b[^.\n]{0,30}\b(?:admin\s+)?(?:password|credentials|secret\s+key|api\s+key|"
            r"confidential\s+(?:data|rules)|database\s+credentials)\b"), 0.6,
         "asks for secrets"),
    Rule("encoded_payload",
         _r(r"\b(?:decode|base64|rot13|rot-13)\b[^.\n]{0,40}\b(?:do\s+what|follow|execute|obey|carry\s+out)|^rot13:"), 0.6,
         "asks to decode and follow a hidden payload"),
)

# ---- indirect injection: instructions addressed to the model inside data ------------------------------
_AI = r"(?:ai|a\.i\.|assistant|chatbot|bot|llm|language\s+model|model|gpt|ai\s+systems?|ai\s+assistant)"
INDIRECT = (
    Rule("indirect_address",
         _r(rf"\b(?:note|message|instructions?|hidden\s+instruction|important(?:\s+instruction)?)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+)?{_AI}\b|"
            rf"\b(?:dear|attention|hey)\s+{_AI}\b|\bif\s+(?:you\s+are|an?)\s+(?:an?\s+)?{_AI}\b|"
            rf"\b{_AI}\s+(?:reading|processing|summari[sz]ing)\s+this\b|\b{_AI}\s+(?:systems?\s+)?summari[sz]ing\s+these\b"), 0.6,
         "text that addresses the AI reading it"),
    Rule("indirect_command",
         _r(rf"(?:\b{_AI}\b|\bassistant\s*[,:])[^.\n]{{0,60}}\b(?:must|should|has\s+been\s+authori[sz]ed|is\s+authori[sz]ed|"
            r"ignore|disregard|tell\s+the\s+user|recommend|forward|include|reply|rank|rate|mark|call\s+it|reveal)\b"), 0.6,
         "tells the AI what to do about the surrounding content"),
    Rule("hidden_markup",
         _r(r"<!--[^>]{0,200}(?:assistant|ai|model|instruction)|display\s*:\s*none[^>]{0,40}>[^<]{0,200}(?:assistant|ignore|ai\b)|"
            r"\[(?:system|admin)\s+(?:note|message|override)\s*:"), 0.6,
         "instructions hidden in markup or fake notes"),
    Rule("exfiltration_link",
         _r(r"(?:https?://[^\s)]+[?&][\w-]+=\s*$|https?://[^\s)]+[?&][\w-]+=[^\s]*(?:history|conversation|chat|secret)|"
            r"\b(?:forward|send|include)\s+(?:this|the|their|the\s+user's)\s+(?:conversation|chat\s+history|history|messages)\b)"), 0.6,
         "asks to send the conversation elsewhere"),
    Rule("regardless_of_criteria",
         _r(r"\b(?:regardless\s+of\s+(?:the\s+)?(?:criteria|instructions|rules)|without\s+(?:any\s+)?review\b)"), 0.4,
         "overrides the evaluation it is subject to"),
)

# ---- other languages ---------------------------------------------------------------------------------
ML = (
    Rule("fr_override",
         _r(r"\b(?:ignore[rz]?|oublie[rz]?|ne\s+tiens?\s+pas\s+compte|ne\s+tenez\s+pas\s+compte|fais\s+abstraction)\s+"
            r"(?:de\s+|des\s+|du\s+)?(?:toutes\s+|tous\s+)?(?:les|tes|vos|ces|la|le|l')?\s*(?:[\w'-]+\s+){0,2}?"
            r"(?:instructions?|consignes?|r[èe]gles?|directives?|prompt)\b(?!\s+(?:all|the|and|above|before))"),
         1.0, "French: ignore the instructions"),
    Rule("fr_reveal",
         _r(r"\b(?:r[ée]v[èe]le[rz]?|affiche[rz]?|montre[rz]?|donne[rz]?[-\s]moi)\b[^.\n]{0,30}\b(?:prompt|instructions?\s+syst[èe]me|consignes)"), 1.0,
         "French: reveal the prompt"),
    Rule("fr_persona",
         _r(r"\b(?:d[ée]sormais|[àa]\s+partir\s+de\s+maintenant)\b[^.\n]{0,40}\bsans\s+(?:aucune\s+)?(?:restrictions?|limites?|filtres?)"), 1.0,
         "French: from now on, no restrictions"),
    Rule("es_pt_override",
         _r(r"\b(?:ignor[ae]s?|olvid[ae]s?|esque[çc]a|desconsider[ae]|no\s+hagas\s+caso)\b[^.\n]{0,40}?"
            r"\b(?:instrucci[oó]n(?:es)?|instru[çc](?:[ãa]o|[õo]es)|reglas|regras|indicaciones|prompt|todo\s+lo\s+anterior|tudo\s+o\s+que)\b"), 1.0,
         "Spanish/Portuguese: ignore the instructions"),
    Rule("es_pt_reveal",
         _r(r"\b(?:revela|muestra|mu[ée]strame|mostre|revele|mostra)\b[^.\n]{0,30}\b(?:prompt|instrucciones\s+del\s+sistema|instru[çc][õo]es\s+do\s+sistema)"), 1.0,
         "Spanish/Portuguese: reveal the prompt"),
    Rule("es_pt_persona",
         _r(r"\b(?:a\s+partir\s+de\s+ahora|a\s+partir\s+de\s+agora|desde\s+ahora|act[úu]a\s+como|aja)\b[^.\n]{0,50}\bsin\s+(?:restricciones|filtros|l[íi]mites)|"
            r"\b(?:sem\s+(?:restri[çc][õo]es|filtros|limites))\b"), 1.0, "Spanish/Portuguese: no restrictions"),
    Rule("de_override",
         _r(r"\b(?:ignorier(?:e|en)?|vergiss(?!\s+nicht)|vergessen\s+sie|missachte)\b[^.\n]{0,40}?\b(?:Anweisungen|Vorgaben|Regeln|Instruktionen|Befehle|Prompt)\b"), 1.0,
         "German: ignore the instructions"),
    Rule("de_reveal",
         _r(r"\b(?:zeig(?:e|en)?|gib|verrate|nenne)\b[^.\n]{0,30}\b(?:System-?[Pp]rompt|versteckten\s+Anweisungen|Systemanweisungen)"), 1.0,
         "German: reveal the prompt"),
    Rule("de_persona",
         _r(r"\b(?:ab\s+jetzt|von\s+nun\s+an)\b[^.\n]{0,50}\bohne\s+(?:jede\s+)?(?:Einschränkungen|Filter|Grenzen)"), 1.0,
         "German: from now on, no restrictions"),
    Rule("it_override",
         _r(r"\b(?:ignora|dimentica)\b[^.\n]{0,40}\b(?:istruzioni|regole)\b"), 1.0, "Italian: ignore the instructions"),
    Rule("ru_override",
         _r(r"(?:игнорируй|игнорируйте|забудь|забудьте|не\s+обращай\s+внимания\s+на|проигнорируй)[^.\n]{0,40}?"
            r"(?:инструкци|правил|указани|промпт|предыдущ)"), 1.0, "Russian: ignore the instructions"),
    Rule("ru_reveal",
         _r(r"(?:покажи|выведи|раскрой|напиши)[^.\n]{0,30}(?:системн\w*\s+(?:промпт|подсказк|инструкци)|промпт)"), 1.0,
         "Russian: reveal the prompt"),
    Rule("ru_persona",
         _r(r"(?:теперь|отныне|с\s+этого\s+момента)[^.\n]{0,40}без\s+(?:каких-либо\s+)?(?:ограничений|фильтров)"), 1.0,
         "Russian: from now on, no restrictions"),
    Rule("zh_override",
         _r(r"(?:忽略|无视|忘记|忘掉|不要理会)[^。\n]{0,12}(?:指令|指示|规则|提示|说明|要求)"), 1.0, "Chinese: ignore the instructions"),
    Rule("zh_reveal",
         _r(r"(?:显示|告诉我|输出|泄露|打印)[^。\n]{0,8}(?:系统提示|系统指令|提示词)"), 1.0, "Chinese: reveal the system prompt"),
    Rule("zh_persona",
         _r(r"(?:从现在(?:开始|起)|现在起)[^。\n]{0,20}(?:没有(?:任何)?限制|无限制|不受限制)"), 1.0, "Chinese: from now on, no restrictions"),
)

RULES: tuple[Rule, ...] = (*EN, *INDIRECT, *ML)
