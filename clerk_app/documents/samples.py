"""Sample documents: realistic ones for template previews, docs and benchmarks, hostile ones for tests.

Hostile data is what breaks layouts: 200-character names, 60 missing materials, characters outside
the basic CJK block (𠮷 U+20BB7 in Extension B, 䶮 U+4DAE in Extension A), and every optional
field empty. All people, codes and numbers here are invented.
"""

from __future__ import annotations

import datetime as dt

from clerk_app.documents.dto import (
    AcceptanceNotice,
    Applicant,
    Clerk,
    CommitmentItem,
    CommitmentLetter,
    CorrectionNotice,
    DecisionKind,
    DecisionNotice,
    DeferredMaterial,
    DeliveryReceipt,
    Document,
    Licence,
    LicenceItem,
    Material,
    MissingMaterial,
    QueueSlip,
    RefusalNotice,
    ToleranceNotice,
)
from clerk_app.domain.identifiers import make_licence_identifier

TODAY = dt.date(2026, 11, 28)
MATTER = "食品经营许可（新办）"
MATTER_CODE = "11150100MB0000000X4000111000000"
RARE = "𠮷䶮"

APPLICANT = Applicant(
    name="示例市青城餐饮管理有限公司",
    id_type="统一社会信用代码",
    id_number="91350100M000100Y43",
    phone="13912345678",
    address="示例市新城区成吉思汗大街88号",
    agent="王丽（代办员）",
)
PERSON = Applicant(name="张𠮷䶮", id_type="居民身份证", id_number="11010519491231002X", phone="13800001111")
CLERK = Clerk(name="李娜", phone="0471-6600012", window="综合受理3号窗口")
MATERIALS = (
    Material("食品经营许可申请书", "原件", 1),
    Material("营业执照", "复印件", 1, "核验原件"),
    Material("法定代表人身份证明", "复印件", 1),
    Material("与食品经营相适应的主要设备设施布局、操作流程等文件", "原件", 1),
    Material("食品安全自查、从业人员健康管理等制度文本", "原件", 1),
)


def _long(prefix: str, length: int = 200) -> str:
    filler = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥" + RARE + "ABCDEFG1234567"
    text = prefix
    while len(text) < length:
        text += filler
    return text[:length]


def licence_identifier(serial: str = "000123") -> str:
    return make_licence_identifier("11100000000000000A", "11150100MB0000000X", serial, 1)


def realistic() -> list[Document]:
    """One of every document type with the data a clerk would enter."""
    accepted_at = dt.datetime(2026, 11, 28, 9, 42)
    return [
        AcceptanceNotice(
            number="呼政受〔2026〕00123号",
            case_no="SL2026112800123",
            applicant=APPLICANT,
            matters=(MATTER, "公共场所卫生许可（新办）"),
            application_date=TODAY,
            accepted_at=accepted_at,
            materials=MATERIALS,
            clerk=CLERK,
            promised_date=dt.date(2026, 12, 4),
            issue_date=TODAY,
            matter_code=MATTER_CODE,
        ),
        RefusalNotice(
            number="呼政不受〔2026〕00007号",
            case_no="SL2026112800124",
            applicant=PERSON,
            matters=("出入境证件办理",),
            application_date=TODAY,
            reason="申请事项依法不属于本机关职权范围。",
            legal_basis="《中华人民共和国行政许可法》第三十二条第一款第（二）项",
            competent_authority="示例市公安局出入境管理支队",
            returned_materials=(Material("出入境证件申请表", "原件", 1), Material("居民身份证", "复印件", 1)),
            clerk=CLERK,
            issue_date=TODAY,
        ),
        CorrectionNotice(
            number="呼政补〔2026〕00045号",
            case_no="SL2026112800125",
            matter=MATTER,
            applicant=APPLICANT,
            missing=(
                MissingMaterial("食品安全管理人员培训合格证明", "未提交", "加盖公章的复印件"),
                MissingMaterial("经营场所平面图", "未标注面积和功能分区", "标注比例尺和面积"),
            ),
            deadline=dt.date(2026, 12, 12),
            enquiry_phone="0471-6600012",
            issue_date=TODAY,
        ),
        CorrectionNotice(
            number="呼政告〔2026〕00311号",
            case_no="",
            matter="个体工商户设立登记",
            applicant=PERSON,
            missing=(MissingMaterial("经营场所使用证明", "需提交房屋产权证明或租赁协议", "原件及复印件"),),
            deadline=dt.date(2026, 12, 31),
            enquiry_phone="",
            issue_date=TODAY,
            one_time=True,
        ),
        ToleranceNotice(
            number="呼政容〔2026〕00018号",
            case_no="SL2026112800126",
            matter=MATTER,
            applicant=APPLICANT,
            deferred=(DeferredMaterial("从业人员健康证明", "复印件", dt.date(2026, 12, 10)),),
            clerk=CLERK,
            issue_date=TODAY,
        ),
        CommitmentLetter(
            number="呼政诺〔2026〕00052号",
            matter=MATTER,
            applicant=APPLICANT,
            items=(
                CommitmentItem(
                    "经营场所消防安全证明",
                    "《国务院办公厅关于全面推行证明事项告知承诺制的指导意见》",
                    "经营场所符合消防安全要求",
                ),
            ),
            verification="许可后三个月内由市场监管部门现场核查，并通过信用信息平台比对。",
            issue_date=TODAY,
            matter_code=MATTER_CODE,
            case_no="SL2026112800123",
            verification_deadline=dt.date(2026, 12, 5),
        ),
        DecisionNotice(
            kind=DecisionKind.APPROVAL,
            number="呼政许〔2026〕00088号",
            case_no="SL2026112800123",
            matter=MATTER,
            applicant=APPLICANT,
            content="准予核发食品经营许可证，经营项目：热食类食品制售。",
            legal_basis="《中华人民共和国食品安全法》第三十五条",
            decision_date=dt.date(2026, 12, 3),
            pickup="免费邮寄送达",
        ),
        DecisionNotice(
            kind=DecisionKind.DENIAL,
            number="呼政不许〔2026〕00003号",
            case_no="SL2026112800127",
            matter=MATTER,
            applicant=APPLICANT,
            content="不予核发食品经营许可证。",
            legal_basis="《食品经营许可和备案管理办法》第十二条",
            decision_date=dt.date(2026, 12, 3),
            reason="经营场所与有毒、有害场所的距离不符合要求。",
        ),
        DecisionNotice(
            kind=DecisionKind.COMPLETION,
            number="呼政结〔2026〕00431号",
            case_no="SL2026112800128",
            matter="社会保障卡补领",
            applicant=PERSON,
            content="已制发社会保障卡一张。",
            legal_basis="《社会保障卡管理办法》",
            decision_date=TODAY,
            pickup="到综合出件窗口领取",
        ),
        DeliveryReceipt(
            number="呼政送〔2026〕00066号",
            document_title="准予行政许可决定书",
            document_number="呼政许〔2026〕00088号",
            recipient=APPLICANT.name,
            served_at=dt.datetime(2026, 12, 3, 15, 7),
            place="示例市政务服务中心综合出件窗口",
            method="直接送达",
            server="赵强",
            witness="孙悦",
            remarks="",
            case_no="SL2026112800123",
        ),
        Licence(
            title="食品经营许可证",
            holder=APPLICANT.name,
            holder_code=APPLICANT.id_number,
            holder_code_type="001",
            licence_number="JY11501020000123",
            issuer="示例市行政审批和政务服务局",
            issuer_code="11150100MB0000000X",
            issue_date=dt.date(2026, 12, 3),
            valid_from=dt.date(2026, 12, 3),
            valid_until=dt.date(2031, 12, 2),
            identifier=licence_identifier(),
            items=(
                LicenceItem("经营者名称", APPLICANT.name),
                LicenceItem("住所", APPLICANT.address),
                LicenceItem("经营场所", APPLICANT.address),
                LicenceItem("主体业态", "餐饮服务经营者（中型餐馆）"),
                LicenceItem("经营项目", "热食类食品制售；冷食类食品制售"),
            ),
        ),
        QueueSlip(
            ticket_number="A023",
            category="企业开办",
            people_ahead=5,
            issued_at=dt.datetime(2026, 11, 28, 9, 15, 3),
        ),
    ]


def hostile() -> list[Document]:
    """The same types with 200-character names, 60-item lists, rare characters, empty optionals."""
    name = _long("张" + RARE)
    matter = _long("事项" + RARE)
    applicant = Applicant(name=name, id_type="", id_number="", phone="")
    clerk = Clerk(name=_long("经办" + RARE, 40))
    many = tuple(
        MissingMaterial(f"材料{i:02d}{_long(RARE, 30)}", f"原因{i:02d}{_long('缺', 40)}")
        for i in range(1, 61)
    )
    materials = tuple(Material(f"材料{i:02d}{_long(RARE, 50)}") for i in range(1, 61))
    return [
        AcceptanceNotice(
            "",
            "",
            applicant,
            (matter,),
            TODAY,
            dt.datetime(2026, 11, 28, 8, 0),
            materials,
            clerk,
            TODAY,
            TODAY,
        ),
        RefusalNotice(
            "",
            "",
            applicant,
            (matter,),
            TODAY,
            _long("理由" + RARE, 400),
            _long("依据", 300),
            "",
            materials,
            clerk,
            TODAY,
        ),
        CorrectionNotice("", "", matter, applicant, many, TODAY, "", TODAY),
        CorrectionNotice("", "", matter, applicant, many, TODAY, "", TODAY, one_time=True),
        ToleranceNotice(
            "",
            "",
            matter,
            applicant,
            tuple(DeferredMaterial(f"容缺{i:02d}{_long(RARE, 60)}", "", TODAY) for i in range(60)),
            clerk,
            TODAY,
        ),
        CommitmentLetter(
            "",
            matter,
            applicant,
            tuple(CommitmentItem(_long(f"证明{i}"), _long("依据"), _long("承诺")) for i in range(20)),
            "",
            TODAY,
        ),
        DecisionNotice(
            DecisionKind.APPROVAL, "", "", matter, applicant, _long("内容", 600), _long("依据"), TODAY
        ),
        DecisionNotice(
            DecisionKind.DENIAL, "", "", matter, applicant, "", "", TODAY, reason=_long("理由", 500)
        ),
        DecisionNotice(DecisionKind.COMPLETION, "", "", matter, applicant, "", "", TODAY),
        DeliveryReceipt("", _long("文书"), "", name, dt.datetime(2026, 11, 28, 23, 59), "", "", ""),
        Licence(
            title=_long("许可证" + RARE, 60),
            holder=name,
            holder_code="11010519491231002X",
            holder_code_type="111",
            licence_number=_long("NO", 60),
            issuer=_long("机关" + RARE, 80),
            issuer_code="11150100MB0000000X",
            issue_date=TODAY,
            valid_from=TODAY,
            valid_until=None,
            identifier=licence_identifier("999999999"),
            items=tuple(LicenceItem(f"项目{i}", _long(f"内容{i}")) for i in range(8)),
        ),
        QueueSlip(
            ticket_number="VIP-0001",
            category=_long("类别" + RARE, 120),
            people_ahead=999,
            issued_at=dt.datetime(2026, 11, 28, 7, 0),
            note=_long("提示", 200),
        ),
    ]
