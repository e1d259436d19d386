# Focal 网页应用：中文（zh，简体）。消息与参考文件 en.ftl 完全一致。

## Frame
skip-to-content = 跳至内容
nav-label = 主导航
language = 语言
home = 首页
all-records = 所有记录
sign-out = 退出登录
reader = 读者
editor = 编辑者
admin = 管理员
back-home = 返回首页

## Signing in
sign-in = 登录
user-name = 用户名
password = 密码
sign-in-hint = 您所在节点的管理员会为您提供账户以及设置密码的链接。
sign-in-failed = 用户名或密码不正确。
sign-in-throttled = 失败尝试次数过多。请在 { $minutes } 分钟后重试。
session-ended = 您的会话已结束。请重新登录以继续。
try-again = 节点出现错误。请稍后重试。
setup = 设置密码
setup-intro = 欢迎您，{ $name }。请设置您今后登录时使用的密码。
new-password = 新密码
confirm-password = 再次输入
password-rule = 至少 { $count } 个字符。建议使用一句您记得住的话。
setup-submit = 保存并登录
setup-invalid = 此链接无效
setup-invalid-text = 该链接已过期、已被使用或已被替换。请向您所在节点的管理员索取新链接。
password-too-short = 密码必须至少包含 { $min } 个字符。
password-too-long = 密码过长。
password-is-name = 密码不能与您的用户名相同。
password-mismatch = 两次输入的密码不一致。

## Errors
not-found = 未找到
not-found-text = 此节点上不存在该页面或记录。
forbidden = 无权访问
forbidden-text = 此页面需要“{ $role ->
    [reader] { reader }
    [editor] { editor }
    [admin] { admin }
   *[other] { $role }
}”角色，而您的账户不具备该角色。
csrf = 表单已过期
csrf-text = 该表单不是从此页面提交的，或已过期。请返回并重新加载页面，然后再次提交。
read-failed = 节点无法读取其数据
read-failed-text = 节点的数据库未响应。请稍后重试；如果问题持续出现，请告知节点运营方。
bad-request = 无法显示
bad-cursor-text = 该页面链接已失效。请从第一页重新开始。

## Home
home-heading = { $name } 节点
home-mine = 我方记录
home-recent = 全网近期变更
home-peers = 其他节点
nothing-yet = 暂无内容。
not-in-network = 此节点尚未加入网络。
no-peers = 尚未与其他节点取得联系。
connected = 已连接
not-connected = 未连接

## Records
search = 搜索
filter = 筛选
records-count = 共 { $count } 条记录
nothing-found = 没有匹配的记录。
next-page = 下一页
deleted = 已删除
history = 历史记录
history-caption = 所有已签名的变更，按时间由新到旧排列
read-only-other = 其他成员的记录：只读
original = 原文
translated-from = 译文（原文：{ $name }）
languages-count = 全部 { $count } 种语言
yes = 是
no = 否

## Columns
col-title = 标题
col-type = 类型
col-member = 成员
col-updated = 更新时间
col-created = 创建时间
col-connection = 连接状态
col-last-received = 最近接收
col-last-error = 最近错误
col-when = 时间
col-action = 操作
col-signer = 签名密钥
col-fields = 字段
col-change = 变更哈希
col-region = 区域
col-name = 姓名
col-designation = 指定类别
col-institution = 机构
col-languages = 语言
col-email = 电子邮件
col-phone = 电话
col-standing = 成员状态
col-state = 计划
col-plan = 主要计划
col-period = 期间
col-lead-agency = 牵头机构
col-budget = 预算
col-theme = 主题

## Record types
type-member = 成员概况
type-focal-point = 联络人
type-nap = 国家行动计划
type-practice = 实践做法
type-funding = 资金承诺
type-partnership = 伙伴关系
type-meeting = 会议
type-registration = 登记
type-statement = 声明
type-decision = 决定
type-follow-up = 后续行动
type-focal-point-contact = 联系方式

## Values
visibility-network = 整个网络
visibility-secretariat = 成员和秘书处
visibility-local = 仅限本节点
standing-active = 正常
standing-suspended = 已暂停
standing-removed = 已移除
action-create = 创建
action-update = 编辑
action-delete = 删除

## Views
view-directory = 名录
view-naps = 国家行动计划跟踪
view-freshness = 截至 { $when }；最新条目接收时间：{ $name }
download-csv = 下载 CSV
contact-withheld = （由成员和秘书处保管）
summary-focal-points = 联络人
summary-members = 成员
summary-allocated = 现行有效且已分配预算
nap-state-in-force = 现行有效
nap-state-adopted = 已通过，尚未生效
nap-state-drafting = 起草中
nap-state-expired = 已到期
nap-state-none = 无计划

## Forms
new-record = 新建：{ $name }
new-heading = 新建记录：{ $type }
edit-heading = 编辑“{ $name }”
edit = 编辑
delete = 删除
delete-heading = 删除“{ $name }”？
delete-text = 该记录将在网络的所有节点上被标记为已删除。其历史记录（每项变更均经签名）将被保留，且仍可查阅。
save = 保存
cancel = 取消
required = 必填
visibility = 谁可以读取
form-hint = 标有“必填”的字段必须填写。多语种文本：请用一种或多种语言填写，并将撰写时所用的语言标为原文。
form-has-errors = 记录未保存。请更正以下内容：
one-per-line = 每行一项。
as-json = JSON 格式。
original-language = 原文
read-only = 只读
read-only-text = 只有拥有记录的成员才能更改该记录；本节点写入的是其所属成员的记录。
write-failed = 未保存
col-field = 字段
col-old = 修改前
col-new = 修改后

## Membership administration
admin-members = 成员资格
admin-intro = 网络成员名册，由本节点（秘书处节点）维护。每项变更均以秘书处的密钥签名，并送达所有节点。
admin-keys = 节点密钥
admin-endpoints = 端点
admin-endpoints-of = { $name } 的端点
admin-set-endpoints = 设置端点
admin-actions = 变更
admin-suspend = 暂停
admin-readmit = 重新接纳
admin-remove = 移除
admin-revoke = 吊销此密钥
admin-add = 添加成员
admin-join-request = 该成员的加入请求（`focal-node join-request` 输出的内容）
admin-join-hint = 包含 member、node_key 和 endpoint 的 JSON。
admin-handover = 确认密钥交接
admin-handover-label = 交接数据（十六进制，来自 `focal-node key rotate`）
admin-review = 查看变更
admin-confirm = 确认变更
admin-will = 如果您确认，将发生以下变更：
admin-do-it = 确认并签名
admin-refused = 无法进行此项变更：
admin-not-secretariat = 成员资格由秘书处管理
admin-not-secretariat-text = 只有秘书处节点才能更改网络成员名册。在本节点上，可在名录中查阅名册。
