"""Words that scanners and technologists put in descriptions and sequence names.

Patterns are matched against upper-cased text (series description, protocol name, sequence names,
image comments, vendor pulse-sequence names). Japanese terms are included as written on Japanese
consoles: 造影 contrast, 脂肪抑制 fat suppression, 矢状断 sagittal, 横断/軸位 axial, 冠状断 coronal,
頚椎/頸椎 cervical, 胸椎 thoracic, 腰椎 lumbar, 拡散 diffusion.
"""

from __future__ import annotations

import re

_B = r"(?<![A-Z0-9])"  # start of a word (letters/digits only; "_" and "-" separate words)
_E = r"(?![A-Z0-9])"

# --- balanced steady-state free precession (DURO-PROTO-1 "FIESTA; CISS and equivalents") ---
SSFP = re.compile(
    rf"FIESTA|{_B}CISS{_E}|TRUE[ _-]?FISP|{_B}TRUFI|TRUFISP|{_B}B[-_ ]?TFE{_E}|{_B}B[-_ ]?FFE{_E}|BALANCED"
    rf"|{_B}DRIVE{_E}|TRUE[ _-]?SSFP|{_B}B?SSFP{_E}|{_B}BASG{_E}|BALANCED[ _-]?SARGE|{_B}FIESTA[-_ ]?C{_E}"
    r"|定常状態"
)
# Siemens SequenceName: *ci3d (CISS), *tfi2d / *tfi3d (TrueFISP); not *tfl (TurboFLASH)
SIEMENS_SSFP_NAME = re.compile(r"^\*?(CI\d|TFI\d)")
SIEMENS_SWI_NAME = re.compile(r"^\*?SWI")
SIEMENS_DIFFUSION_NAME = re.compile(r"^\*?(EP_B|RE_B|EPSE_B|EP2D_DIFF|RESOLVE)")
SIEMENS_FLASH_NAME = re.compile(r"^\*?(FL\d|TFL\d|FL3D|FL2D|EPFID|FI\d|ME2D|ME3D)")

LOCALIZER = re.compile(
    rf"LOCALI[SZ]ER|{_B}SCOUT|{_B}SURVEY{_E}|3[ -]?PLANE|TRI[ -]?PILOT"
    rf"|{_B}LOC{_E}|{_B}PILOT{_E}|{_B}AAHSCOUT|位置決め|ロケーター|スカウト"
)
ADC = re.compile(rf"{_B}D?ADC{_E}|APPARENT[ _]DIFFUSION|{_B}ADC[_ ]?MAP|{_B}ADC_|拡散係数")
DTI = re.compile(rf"{_B}DTI{_E}|TENSOR|{_B}DT[ _-]?MRI|{_B}DKI{_E}|{_B}HARDI{_E}|{_B}DSI{_E}|拡散テンソル")
DWI = re.compile(
    rf"{_B}DWI|DIFFUSION|{_B}DIFF{_E}|{_B}EP2D[_ ]DIFF"
    rf"|{_B}B\s?=?\s?\d{{3,4}}{_E}|{_B}RESOLVE|ZOOMIT|{_B}DW{_E}"
    rf"|{_B}DWIBS|{_B}TRACEW|{_B}IVIM|{_B}MUSE|拡散"
)
SWI = re.compile(rf"{_B}SWI|{_B}SWAN{_E}|VEN[ _]?BOLD|{_B}SWIP|SUSCEPTIBILITY|{_B}QSM{_E}|磁化率")
T2STAR = re.compile(
    rf"T2\s?\*|T2[ _-]?STAR|{_B}MEDIC{_E}|{_B}MERGE{_E}|{_B}M[-_ ]?FFE{_E}"
    rf"|{_B}T2[ _-]?FFE{_E}|HEMO|{_B}BOLD{_E}|{_B}EP2D[_ ]BOLD|{_B}FMRI|T2スター"
)
GRADIENT_ECHO = re.compile(rf"{_B}GRE{_E}|{_B}FFE{_E}|{_B}FLASH{_E}|{_B}GR{_E}")
MT = re.compile(
    rf"{_B}MT{_E}|{_B}MTC{_E}|{_B}MTR{_E}|MAGNETI[SZ]ATION[ _]TRANSFER"
    rf"|{_B}MT[_ -]?(ON|OFF){_E}|{_B}MTON|{_B}MTOFF|磁化移動"
)
STIR = re.compile(rf"{_B}STIR{_E}|{_B}T?IRM{_E}|{_B}SHORT[ _]TAU")
FLAIR = re.compile(rf"FLAIR|{_B}DARK[ _]?FLUID|{_B}TIRM")
T1 = re.compile(
    rf"{_B}T1(W|WI)?{_E}|{_B}T1[_ -]|T1強調|{_B}MPRAGE|{_B}BRAVO"
    rf"|{_B}VIBE{_E}|{_B}LAVA|{_B}THRIVE|{_B}SPGR{_E}"
)
T2 = re.compile(rf"{_B}T2(W|WI)?{_E}|{_B}T2[_ -](?!\*|STAR|FFE)|T2強調|{_B}CUBE[_ ]?T2")
PD = re.compile(rf"{_B}PD(W|WI)?{_E}|PROTON[ _]DENSITY|{_B}PD[_ -]|プロトン密度")
ANGIOGRAPHY = re.compile(rf"ANGIO|{_B}TOF{_E}|{_B}MRA{_E}|{_B}PC[ _-]?MRA|血管")
FIELD_MAP = re.compile(rf"{_B}B0{_E}|FIELD[ _]?MAP|{_B}FMAP|{_B}PHASE{_E}")

FAT_SUPPRESSED = re.compile(
    rf"{_B}FS{_E}|FAT[ _-]?SAT|FATSUP|FAT[ _-]?SUP|{_B}F/S{_E}"
    rf"|{_B}SPIR{_E}|{_B}SPAIR{_E}|{_B}SPECIAL{_E}|{_B}STIR{_E}"
    rf"|DIXON[ _-]?W|{_B}WATER{_E}|{_B}IDEAL[ _-]?W|{_B}FLEX[ _-]?W|{_B}WE{_E}|{_B}FSAT|{_B}FATSAT"
    rf"|{_B}CHESS{_E}|{_B}PROSET|脂肪抑制|脂肪抑|ファットサット"
)
NOT_FAT_SUPPRESSED = re.compile(rf"NON[ _-]?FS{_E}|{_B}NO[ _-]?FS{_E}|W/?O[ _-]?FS|{_B}NOFS|脂肪抑制なし")

CONTRAST = re.compile(
    rf"\+\s?C{_E}|{_B}C\+|\+\s?GD|{_B}GD{_E}|GADO|{_B}POST{_E}"
    rf"|{_B}POST[ _-]?(CONTRAST|GD|C){_E}|{_B}CE{_E}|CONTRAST"
    rf"|{_B}ENH{_E}|MULTIHANCE|MAGNEVIST|DOTAREM|GADOVIST"
    rf"|GADAVIST|PROHANCE|OMNISCAN|CLARISCAN|ELUCIREM|VUEWAY"
    rf"|造影|ガドリニウム|{_B}GD[-_]?DTPA"
)
NOT_CONTRAST = re.compile(
    rf"{_B}PRE{_E}|{_B}PRE[ _-]?(CONTRAST|GD|C){_E}|NON[ _-]?CONTRAST"
    rf"|W/?O[ _-]?(CONTRAST|GD|C){_E}|WITHOUT[ _]CONTRAST"
    r"|非造影|造影前|単純"
)

SAGITTAL = re.compile(rf"{_B}SAG|矢状")
AXIAL = re.compile(rf"{_B}AX|{_B}TRA{_E}|{_B}TRANS|横断|軸位")
CORONAL = re.compile(rf"{_B}COR{_E}|{_B}CORONAL|冠状")

# spinal segments and regions
CERVICAL = re.compile(rf"C[-_ ]?SPINE|CSPINE|CERVICAL|{_B}C[-_ ]?SP{_E}|{_B}NECK{_E}|頚椎|頸椎|頚部|頸部")
THORACIC = re.compile(rf"T[-_ ]?SPINE|TSPINE|THORACIC|{_B}TH[-_ ]?SP|{_B}T[-_ ]?SP{_E}|DORSAL|胸椎")
LUMBAR = re.compile(rf"L[-_ ]?SPINE|LSPINE|LUMBAR|{_B}L[-_ ]?SP{_E}|腰椎")
SACRAL = re.compile(rf"S[-_ ]?SPINE|SSPINE|SACRUM|SACRAL|{_B}SACR|仙骨|仙椎")
WHOLE_SPINE = re.compile(rf"WHOLE[ _-]?SPINE|TOTAL[ _-]?SPINE|全脊椎|全脊柱|{_B}W[-_ ]?SPINE")
SPINE = re.compile(r"SPINE|SPINAL|脊椎|脊髄|脊柱|MYELO|ミエロ")
BRAIN = re.compile(rf"{_B}BRAIN|{_B}HEAD{_E}|{_B}SKULL|CRANI|頭部|脳")


def any_match(pattern: re.Pattern[str], texts: list[str]) -> bool:
    return any(pattern.search(t) for t in texts if t)


# multiband / simultaneous multi-slice factor written in descriptions or ImageComments ("MB4",
# "SMS 3", GE "HB4"/"hyperband 4", Philips "MB SENSE 2", "multiband=4")
MULTIBAND = re.compile(
    rf"(?:{_B}MB|{_B}SMS|{_B}HB|HYPERBAND|MULTI[ _-]?BAND"
    rf"|{_B}MB[ _-]?SENSE)[ _=:-]?X?(?P<factor>[1-9])(?![0-9])"
)
