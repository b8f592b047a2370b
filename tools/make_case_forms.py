"""Write the five DESIGN §6b workbooks (case, case update, monthly, support, plan) into forms/.

A one-time generator kept for the record: the workbooks in forms/ are the source of truth and are
edited by hand from now on (forms/README.md §4). Running it again overwrites them.

    .venv/bin/python tools/make_case_forms.py
"""

# ruff: noqa: E501 — rows of labels read better one per line
from __future__ import annotations

from pathlib import Path

import openpyxl

VERSION = "2026120701"
VI, EN = "Vietnamese (vi)", "English (en)"
SURVEY_COLUMNS = (
    "type",
    "name",
    f"label::{VI}",
    f"label::{EN}",
    f"hint::{VI}",
    f"hint::{EN}",
    "required",
    f"required_message::{VI}",
    f"required_message::{EN}",
    "constraint",
    f"constraint_message::{VI}",
    f"constraint_message::{EN}",
    "relevant",
    "calculation",
    "choice_filter",
    "appearance",
    "parameters",
    "save_to",
)
CHOOSE = ("Vui lòng chọn một mục.", "Please choose an option.")
CHOOSE_MANY = ("Vui lòng chọn ít nhất một mục.", "Please choose at least one option.")
ANSWER = ("Vui lòng trả lời câu hỏi này.", "This question is required.")
NUMBER = ("Vui lòng nhập số; ghi 0 nếu không có.", "Please enter a number; enter 0 if none.")
NOT_NEGATIVE = (". >= 0", "Số không được âm.", "The number cannot be negative.")
DATE_RULE = (
    ". <= today() and . >= date('2021-01-01')",
    "Ngày không được sau ngày hôm nay và không được trước ngày 01/01/2021.",
    "The date cannot be in the future or before 1 January 2021.",
)
NO_NAMES_VI = "Không ghi họ tên, số điện thoại, địa chỉ hay thông tin giúp nhận ra một người."
NO_NAMES_EN = (
    "Do not write anyone's name, phone number, address or any detail that identifies them."
)


def q(
    type_: str,
    name: str,
    label: tuple[str, str] | None = None,
    hint: tuple[str, str] | None = None,
    *,
    required: tuple[str, str] | None = None,
    constraint: tuple[str, str, str] | None = None,
    relevant: str | None = None,
    calculation: str | None = None,
    choice_filter: str | None = None,
    appearance: str | None = None,
    save_to: str | None = None,
) -> dict[str, str | None]:
    row: dict[str, str | None] = {"type": type_, "name": name}
    if label:
        row[f"label::{VI}"], row[f"label::{EN}"] = label
    if hint:
        row[f"hint::{VI}"], row[f"hint::{EN}"] = hint
    if required:
        row["required"] = "yes"
        row[f"required_message::{VI}"], row[f"required_message::{EN}"] = required
    if constraint:
        row["constraint"] = constraint[0]
        row[f"constraint_message::{VI}"], row[f"constraint_message::{EN}"] = constraint[1:]
    row.update(
        relevant=relevant,
        calculation=calculation,
        choice_filter=choice_filter,
        appearance=appearance,
        save_to=save_to,
    )
    return row


META = [q(t, t) for t in ("start", "end", "today", "deviceid", "username")]


def where(*, save_commune: bool = False) -> list[dict[str, str | None]]:
    return [
        q("begin_group", "where", ("Địa bàn", "Place"), appearance="field-list"),
        q(
            "select_one_from_file provinces.csv",
            "province",
            ("Tỉnh, thành phố", "Province / city"),
            ("Tỉnh, thành phố của xã báo cáo.", "The province or city of the reporting commune."),
            required=CHOOSE,
            appearance="minimal",
        ),
        q(
            "select_one_from_file communes.csv",
            "commune",
            ("Xã, phường, đặc khu", "Commune / ward / special zone"),
            (
                "Danh sách chỉ hiện các xã, phường, đặc khu của tỉnh, thành phố đã chọn.",
                "Only the communes and wards of the chosen province are listed.",
            ),
            required=CHOOSE,
            choice_filter="province=${province}",
            appearance="minimal",
            save_to="commune" if save_commune else None,
        ),
        q("end_group", "where"),
        q(
            "select_one reporter_org",
            "reporter_org",
            ("Cơ quan, tổ chức báo cáo", "Reporting organisation"),
            (
                "Cơ quan, đơn vị của người nhập phiếu.",
                "The agency or organisation of the person filling in this form.",
            ),
            required=CHOOSE,
        ),
    ]


YES_NO = [("yes_no", "yes", "Có", "Yes"), ("yes_no", "no", "Không", "No")]
REPORTER_ORG = [
    ("reporter_org", "mttq", "Ủy ban Mặt trận Tổ quốc Việt Nam", "Viet Nam Fatherland Front Committee"),
    ("reporter_org", "phu_nu", "Hội Liên hiệp Phụ nữ", "Women's Union"),
    ("reporter_org", "thanh_nien", "Đoàn Thanh niên Cộng sản Hồ Chí Minh", "Ho Chi Minh Communist Youth Union"),
    ("reporter_org", "cong_an", "Công an", "Police"),
    ("reporter_org", "van_hoa_xa_hoi", "Phòng Văn hóa - Xã hội (xã, phường, đặc khu)", "Culture and Social Affairs Office (commune)"),
    ("reporter_org", "y_te", "Ngành Y tế (Sở Y tế, trạm y tế)", "Health sector (Department of Health, health station)"),
    ("reporter_org", "giao_duc", "Ngành Giáo dục và Đào tạo (nhà trường)", "Education and training (schools)"),
    ("reporter_org", "doi_178", "Đội kiểm tra liên ngành 178", "Interagency inspection team 178"),
    ("reporter_org", "khac", "Cơ quan, tổ chức khác", "Other agency or organisation"),
]  # fmt: skip
CASE_KIND = [
    ("case_kind", "to_giac", "Tố giác", "Denunciation"),
    ("case_kind", "tin_bao", "Tin báo", "Crime report"),
    ("case_kind", "khieu_nai", "Khiếu nại", "Complaint"),
    ("case_kind", "kien_nghi", "Kiến nghị", "Petition"),
]

# --- pcmd_case -------------------------------------------------------------------------------
CASE_SURVEY = [
    *META,
    *where(save_commune=True),
    q(
        "date",
        "received_date",
        ("Ngày tiếp nhận", "Date received"),
        (
            "Ngày cơ quan tiếp nhận tố giác, tin báo, khiếu nại, kiến nghị.",
            "The day it was received.",
        ),
        required=ANSWER,
        constraint=DATE_RULE,
        save_to="received_date",
    ),
    q("select_one case_kind", "kind", ("Loại", "Kind"), required=CHOOSE, save_to="kind"),
    q("select_one case_source", "source", ("Nguồn tiếp nhận", "Received from"), required=CHOOSE),
    q(
        "select_one case_subject",
        "subject",
        ("Nội dung liên quan đến", "It concerns"),
        required=CHOOSE,
    ),
    q("begin_group", "establishment", ("Cơ sở kinh doanh", "Establishment")),
    q(
        "select_one_from_file establishments.csv",
        "id",
        ("Chọn cơ sở trong danh sách", "Establishment (from the register)"),
        (
            "Cơ sở kinh doanh dịch vụ của xã, phường, đặc khu đã chọn.",
            "The at-risk service establishments of the chosen commune.",
        ),
        required=CHOOSE,
        relevant="${subject} = 'co_so_kd'",
        choice_filter="commune=${commune}",
        appearance="minimal",
    ),
    q("end_group", "establishment"),
    q(
        "text",
        "summary",
        ("Nội dung tóm tắt", "Summary"),
        ("Nội dung được phản ánh. " + NO_NAMES_VI, "What was reported. " + NO_NAMES_EN),
        required=ANSWER,
        appearance="multiline",
    ),
    q("select_one assigned_to", "assigned_to", ("Giao cho", "Assigned to"), required=CHOOSE),
    q(
        "calculate",
        "deadline",
        calculation="format-date(date(${received_date} + 20), '%Y-%m-%d')",
        save_to="deadline",
    ),
    q("calculate", "status", calculation="'tiep_nhan'", save_to="status"),
    q("calculate", "handled_date", calculation="''", save_to="handled_date"),
]
CASE_CHOICES = [
    *YES_NO,
    *REPORTER_ORG,
    *CASE_KIND,
    ("case_source", "nguoi_dan", "Người dân", "A resident"),
    ("case_source", "co_quan", "Cơ quan, tổ chức", "An agency or organisation"),
    ("case_source", "duong_day_nong", "Đường dây nóng", "Hotline"),
    ("case_source", "bao_chi", "Báo chí", "The press"),
    ("case_source", "mang_xa_hoi", "Mạng xã hội", "Social media"),
    ("case_source", "khac", "Nguồn khác", "Other"),
    ("case_subject", "co_so_kd", "Cơ sở kinh doanh dịch vụ", "A service establishment"),
    ("case_subject", "truc_tuyen", "Hoạt động trên mạng", "Online activity"),
    ("case_subject", "dia_diem_khac", "Địa điểm khác", "Another place"),
    ("assigned_to", "cong_an_xa", "Công an xã, phường, đặc khu", "Commune police"),
    ("assigned_to", "doi_178", "Đội kiểm tra liên ngành 178", "Interagency inspection team 178"),
    ("assigned_to", "thanh_tra", "Thanh tra", "Inspectorate"),
    ("assigned_to", "khac", "Cơ quan khác", "Other agency"),
]
CASE_ENTITY = {
    "list_name": "cases",
    "label": "concat(${received_date}, ' · ', jr:choice-name(${kind}, '${kind}'), ' · ', "
    "instance('communes')/root/item[name = ${commune}]/label)",
}

# --- pcmd_case_update ------------------------------------------------------------------------
CASE_ROW = "instance('cases')/root/item[name = ${case}]"
UPDATE_SURVEY = [
    *META,
    *where(),
    q(
        "select_one_from_file cases.csv",
        "case",
        ("Vụ việc", "Case"),
        (
            "Các vụ việc của xã, phường, đặc khu đã chọn. Làm mới danh sách (tải lại biểu mẫu) "
            "nếu không thấy vụ việc mới.",
            "The cases of the chosen commune. Refresh the forms if a new case is not listed.",
        ),
        required=CHOOSE,
        choice_filter="commune=${commune}",
        appearance="minimal",
    ),
    q("calculate", "case_received", calculation=f"{CASE_ROW}/received_date"),
    q("calculate", "case_deadline", calculation=f"{CASE_ROW}/deadline"),
    q("calculate", "case_handled", calculation=f"{CASE_ROW}/handled_date"),
    q("select_one step", "step", ("Bước xử lý", "Step"), required=CHOOSE, save_to="status"),
    q(
        "date",
        "step_date",
        ("Ngày thực hiện", "Date of the step"),
        (
            "Ngày thực hiện bước này, không phải ngày gửi phiếu.",
            "The day of the step, not the day you send the form.",
        ),
        required=ANSWER,
        constraint=(
            ". <= today() and (${case_received} = '' or . >= date(${case_received}))",
            "Ngày không được sau hôm nay và không được trước ngày tiếp nhận vụ việc.",
            "The date cannot be in the future or before the day the case was received.",
        ),
    ),
    q(
        "select_one outcome",
        "outcome",
        ("Kết quả xử lý", "Outcome"),
        required=CHOOSE,
        relevant="${step} = 'xu_ly_xong'",
    ),
    q(
        "integer",
        "fine_vnd",
        ("Số tiền phạt (đồng)", "Fine (VND)"),
        (
            "Ghi đủ số đồng, ví dụ 15 triệu đồng ghi 15000000.",
            "The full amount in đồng, e.g. 15000000.",
        ),
        required=ANSWER,
        constraint=(
            ". > 0",
            "Số tiền phạt phải lớn hơn 0 đồng.",
            "The fine must be more than 0 đồng.",
        ),
        relevant="${outcome} = 'xu_phat_hanh_chinh'",
    ),
    # The extended deadline: received_date + 2 calendar months, clamped to the month's end.
    q("calculate", "rd_y", calculation="int(substr(${case_received}, 0, 4))"),
    q("calculate", "rd_m", calculation="int(substr(${case_received}, 5, 7))"),
    q("calculate", "rd_d", calculation="int(substr(${case_received}, 8, 10))"),
    q("calculate", "ext_y", calculation="if(${rd_m} > 10, ${rd_y} + 1, ${rd_y})"),
    q("calculate", "ext_m", calculation="if(${rd_m} > 10, ${rd_m} - 10, ${rd_m} + 2)"),
    q(
        "calculate",
        "ext_first",
        calculation="if(${case_received} = '', '', "
        "date(concat(${ext_y}, '-', if(${ext_m} < 10, '0', ''), ${ext_m}, '-01')))",
    ),
    q(
        "calculate",
        "next_first",
        calculation="if(${case_received} = '', '', date(concat("
        "if(${ext_m} = 12, ${ext_y} + 1, ${ext_y}), '-', if(${ext_m} = 12 or ${ext_m} < 9, '0', ''), "
        "if(${ext_m} = 12, 1, ${ext_m} + 1), '-01')))",
    ),
    q(
        "calculate",
        "ext_deadline",
        calculation="if(${case_received} = '', '', format-date(date(${ext_first} + min(${rd_d}, "
        "${next_first} - ${ext_first}) - 1), '%Y-%m-%d'))",
    ),
    q(
        "calculate",
        "deadline",
        calculation="if(${step} = 'gia_han' and ${case_received} != '' and "
        "${step_date} <= date(date(${case_received}) + 20), ${ext_deadline}, ${case_deadline})",
        save_to="deadline",
    ),
    q(
        "calculate",
        "handled_date",
        calculation="if(${case_handled} != '', ${case_handled}, "
        "if(${step} = 'xu_ly_xong' or ${step} = 'chuyen', format-date(${step_date}, '%Y-%m-%d'), ''))",
        save_to="handled_date",
    ),
]
UPDATE_CHOICES = [
    *YES_NO,
    *REPORTER_ORG,
    ("step", "xac_minh", "Xác minh", "Verification"),
    ("step", "phan_loai", "Phân loại", "Classification"),
    ("step", "gia_han", "Gia hạn", "Extension of the time limit"),
    ("step", "xu_ly_xong", "Xử lý xong", "Handled"),
    ("step", "chuyen", "Chuyển cơ quan khác", "Transferred to another agency"),
    ("outcome", "xu_phat_hanh_chinh", "Xử phạt vi phạm hành chính", "Administrative penalty"),
    ("outcome", "khoi_to", "Khởi tố", "Criminal prosecution"),
    ("outcome", "khong_vi_pham", "Không có vi phạm", "No violation"),
    ("outcome", "chuyen_co_quan_khac", "Chuyển cơ quan khác", "Transferred to another agency"),
]
UPDATE_ENTITY = {"list_name": "cases", "entity_id": "${case}"}


# --- pcmd_monthly ----------------------------------------------------------------------------
def count(
    name: str, label: tuple[str, str], extra: str = "", msg: tuple[str, str] | None = None
) -> dict[str, str | None]:
    vi, en = msg or (NOT_NEGATIVE[1], NOT_NEGATIVE[2])
    return q(
        "integer",
        name,
        label,
        required=NUMBER,
        constraint=(". >= 0" + extra, vi, en),
        relevant="${nothing_to_report} = 'no'",
    )


MONTHLY_SURVEY = [
    *META,
    *where(),
    q(
        "date",
        "month",
        ("Tháng báo cáo", "Month reported"),
        ("Chọn tháng và năm của kỳ báo cáo.", "Choose the month and year reported."),
        required=ANSWER,
        constraint=(
            ". <= today() and . >= date('2021-01-01')",
            "Không báo cáo cho tháng chưa đến hoặc trước tháng 01/2021.",
            "The month cannot be in the future or before January 2021.",
        ),
        appearance="month-year",
    ),
    q(
        "select_one yes_no",
        "nothing_to_report",
        ("Trong tháng không có số liệu phát sinh?", "Nothing to report this month?"),
        (
            "Chọn \"Có\" nếu trong tháng không phát hiện vụ án, vụ vi phạm nào: mọi số liệu là 0.",
            "Choose \"Yes\" if no case or violation was found this month: every count is 0.",
        ),
        required=CHOOSE,
    ),
    q("begin_group", "crime", ("Vụ án hình sự liên quan đến mại dâm", "Criminal cases related to prostitution"), relevant="${nothing_to_report} = 'no'"),
    count("n_cases_detected", ("Số vụ án phát hiện", "Criminal cases detected")),
    count(
        "n_cases_prosecuted",
        ("Trong đó: số vụ đã khởi tố", "Of which: prosecuted"),
        " and . <= ${n_cases_detected}",
        ("Không được âm và không lớn hơn số vụ phát hiện.", "Cannot be negative or more than the cases detected."),
    ),
    count("n_defendants", ("Số bị can bị khởi tố", "Defendants prosecuted")),
    q("end_group", "crime"),
    q("begin_group", "admin", ("Vi phạm hành chính", "Administrative violations"), relevant="${nothing_to_report} = 'no'"),
    count("n_violations", ("Số vụ vi phạm hành chính đã xử lý", "Administrative violations handled")),
    count("n_persons_fined", ("Số người bị xử phạt", "Persons fined")),
    q("end_group", "admin"),
]  # fmt: skip
MONTHLY_CHOICES = [*YES_NO, *REPORTER_ORG]

# --- pcmd_support ----------------------------------------------------------------------------
INITIAL_RULE = (
    "string-length(.) = 1 and regex(., '^[A-Za-zÀ-ỹĐđ]$')",
    "Chỉ ghi một chữ cái.",
    "Enter one letter only.",
)
SUPPORT_SURVEY = [
    *META,
    *where(),
    q(
        "date",
        "service_date",
        ("Ngày hỗ trợ", "Date of the service"),
        required=ANSWER,
        constraint=DATE_RULE,
    ),
    q(
        "begin_group",
        "uic",
        ("Mã nhận diện (không ghi tên)", "Identifier code (no names)"),
        (
            "Bốn câu hỏi này chỉ dùng để đếm số người, không lưu lại: máy chủ thay chúng bằng một mã "
            "không thể đọc ngược.",
            "These four answers only count persons and are not kept: the server replaces them by a "
            "code that cannot be read back.",
        ),
        appearance="field-list",
    ),
    q(
        "text",
        "mother_initial",
        ("Chữ cái đầu tên của mẹ", "First letter of the mother's given name"),
        ("Ví dụ mẹ tên Nguyễn Thị Quyên: ghi Q.", "E.g. mother Nguyễn Thị Quyên: enter Q."),
        required=ANSWER,
        constraint=INITIAL_RULE,
    ),
    q(
        "text",
        "father_initial",
        ("Chữ cái đầu tên của cha", "First letter of the father's given name"),
        ("Ví dụ cha tên Trần Văn Xuân: ghi X.", "E.g. father Trần Văn Xuân: enter X."),
        required=ANSWER,
        constraint=INITIAL_RULE,
    ),
    q(
        "integer",
        "birth_year",
        ("Năm sinh", "Year of birth"),
        ("Bốn chữ số, ví dụ 1987.", "Four digits, e.g. 1987."),
        required=ANSWER,
        constraint=(
            ". >= 1940 and . <= int(format-date(today(), '%Y')) - 15",
            "Năm sinh từ 1940 đến năm nay trừ 15.",
            "The year of birth is from 1940 to this year minus 15.",
        ),
    ),
    q("select_one sex", "sex", ("Giới tính", "Sex"), required=CHOOSE),
    q("end_group", "uic"),
    q(
        "select_one yes_no",
        "in_need_eligible",
        ("Có nhu cầu và đủ điều kiện được hỗ trợ?", "In need of and eligible for support?"),
        ("Theo đánh giá của người cung cấp dịch vụ.", "As assessed by the service provider."),
        required=CHOOSE,
    ),
    q(
        "select_multiple services",
        "services",
        ("Dịch vụ đã cung cấp", "Services given"),
        required=CHOOSE_MANY,
    ),
    q("select_one provider", "provider", ("Đơn vị cung cấp", "Provider"), required=CHOOSE),
]
SUPPORT_CHOICES = [
    *YES_NO,
    *REPORTER_ORG,
    ("sex", "nu", "Nữ", "Female"),
    ("sex", "nam", "Nam", "Male"),
    ("sex", "khac", "Khác", "Other"),
    ("services", "y_te", "Chăm sóc y tế", "Health care"),
    (
        "services",
        "xet_nghiem",
        "Xét nghiệm HIV, bệnh lây truyền qua đường tình dục",
        "HIV and STI testing",
    ),
    ("services", "tam_ly", "Tư vấn tâm lý", "Psychological counselling"),
    ("services", "phap_ly", "Trợ giúp pháp lý", "Legal aid"),
    ("services", "hoc_nghe", "Học nghề", "Vocational training"),
    ("services", "viec_lam", "Giới thiệu việc làm", "Job placement"),
    ("services", "vay_von", "Vay vốn", "Loans"),
    ("services", "tro_cap", "Trợ cấp", "Allowance"),
    ("services", "nha_o", "Chỗ ở", "Housing"),
    ("services", "khac", "Dịch vụ khác", "Other"),
    ("provider", "co_so_tro_giup", "Cơ sở trợ giúp xã hội", "Social assistance centre"),
    ("provider", "nhom_dong_dang", "Nhóm đồng đẳng", "Peer group"),
    ("provider", "y_te", "Cơ sở y tế", "Health facility"),
    ("provider", "to_chuc_xa_hoi", "Tổ chức xã hội", "Social organisation"),
    ("provider", "khac", "Đơn vị khác", "Other"),
]

# --- pcmd_plan -------------------------------------------------------------------------------
ISSUED = "${plan_issued} = 'yes'"
PLAN_SURVEY = [
    *META,
    *where(),
    q(
        "integer",
        "year",
        ("Năm kế hoạch", "Plan year"),
        required=ANSWER,
        constraint=(
            ". >= 2021 and . <= int(format-date(today(), '%Y')) + 1",
            "Năm từ 2021 đến năm sau.",
            "The year is from 2021 to next year.",
        ),
    ),
    q(
        "select_one yes_no",
        "plan_issued",
        ("Xã đã ban hành kế hoạch phòng, chống mại dâm của năm?", "Has the commune issued its plan for the year?"),
        required=CHOOSE,
    ),
    q("text", "plan_number", ("Số kế hoạch", "Plan number"), ("Ví dụ 45/KH-UBND.", "E.g. 45/KH-UBND."), required=ANSWER, relevant=ISSUED),
    q("date", "plan_date", ("Ngày ban hành", "Date issued"), required=ANSWER, relevant=ISSUED, constraint=DATE_RULE),
    q(
        "select_multiple integrated",
        "integrated_with",
        ("Kế hoạch lồng ghép với", "The plan is integrated with"),
        ("Chọn \"Không lồng ghép\" nếu kế hoạch đứng riêng.", "Choose \"Not integrated\" for a stand-alone plan."),
        required=CHOOSE_MANY,
        relevant=ISSUED,
        constraint=(
            "not(selected(., 'khong') and count-selected(.) > 1)",
            "\"Không lồng ghép\" không chọn cùng mục khác.",
            "\"Not integrated\" cannot be chosen with another option.",
        ),
    ),
]  # fmt: skip
PLAN_CHOICES = [
    *YES_NO,
    *REPORTER_ORG,
    (
        "integrated",
        "kt_xh",
        "Kế hoạch phát triển kinh tế - xã hội",
        "Socio-economic development plan",
    ),
    ("integrated", "an_sinh", "Chương trình an sinh xã hội", "Social protection programme"),
    ("integrated", "ma_tuy", "Phòng, chống ma túy", "Drug prevention"),
    ("integrated", "hiv", "Phòng, chống HIV/AIDS", "HIV/AIDS prevention"),
    ("integrated", "khong", "Không lồng ghép", "Not integrated"),
]

FORMS = {
    "pcmd_case": ("Tiếp nhận tố giác, tin báo, khiếu nại, kiến nghị về mại dâm", CASE_SURVEY, CASE_CHOICES, CASE_ENTITY, "concat(${received_date}, ' - ', jr:choice-name(${kind}, '${kind}'))"),
    "pcmd_case_update": ("Xử lý vụ việc (xác minh, phân loại, xử lý)", UPDATE_SURVEY, UPDATE_CHOICES, UPDATE_ENTITY, "concat(${step_date}, ' - ', jr:choice-name(${step}, '${step}'))"),
    "pcmd_monthly": ("Báo cáo tháng phòng, chống mại dâm", MONTHLY_SURVEY, MONTHLY_CHOICES, None, "concat(format-date(${month}, '%m/%Y'), ' - ', instance('communes')/root/item[name = ${commune}]/label)"),
    "pcmd_support": ("Hỗ trợ người bán dâm", SUPPORT_SURVEY, SUPPORT_CHOICES, None, "concat(${service_date}, ' - ', jr:choice-name(${provider}, '${provider}'))"),
    "pcmd_plan": ("Kế hoạch phòng, chống mại dâm của xã", PLAN_SURVEY, PLAN_CHOICES, None, "concat(${year}, ' - ', instance('communes')/root/item[name = ${commune}]/label)"),
}  # fmt: skip


def write(folder: Path) -> None:
    for form_id, (title, survey, choices, entity, instance_name) in FORMS.items():
        wb = openpyxl.Workbook()
        ws = wb.active
        assert ws is not None
        ws.title = "survey"
        columns = [c for c in SURVEY_COLUMNS if c != "save_to" or entity]
        ws.append(columns)
        for row in survey:
            ws.append([row.get(c) for c in columns])
        ch = wb.create_sheet("choices")
        ch.append(["list_name", "name", f"label::{VI}", f"label::{EN}"])
        for choice in choices:
            ch.append(list(choice))
        st = wb.create_sheet("settings")
        st.append(["form_title", "form_id", "version", "default_language", "instance_name", "name"])
        st.append([title, form_id, VERSION, VI, instance_name, form_id])
        if entity:
            en = wb.create_sheet("entities")
            en.append(list(entity))
            en.append(list(entity.values()))
        wb.save(folder / f"{form_id}.xlsx")


if __name__ == "__main__":
    write(Path(__file__).resolve().parents[1] / "forms")
