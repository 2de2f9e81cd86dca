/*
 * i18n.js: every string the perkd resident and partner pages show, in one
 * place, in English and Simplified Chinese. To add a language, copy the
 * `en` block, translate it, and add its name to LANGS; a test checks that
 * every language has every key the pages use.
 *
 * The language is the one the resident picked (localStorage), else the
 * first of navigator.languages we have, else English. Texts take {name}
 * placeholders; a text that depends on a number is {one, other} and is
 * chosen with Intl.PluralRules on vars.n.
 */

/* The version of the consent text below (consent.*): recorded with each
 * enrolment. Change it whenever the meaning of the consent texts changes. */
export const CONSENT_VERSION = 'web-2026-11-1';

export const LANGS = { en: 'English', 'zh-Hans': '简体中文' };

const STRINGS = {
  en: {
    'app.brand': 'perkd',
    'common.skip': 'Skip to content',
    'common.loading': 'Loading…',
    'common.language': 'Language',
    'common.signOut': 'Sign out',
    'common.retry': 'Try again',
    'common.refresh': 'Refresh',
    'common.updated': 'Updated.',
    'common.close': 'Close',
    'common.ok': 'OK',
    'common.notNow': 'Not now',
    'common.more': 'Show more',
    'common.pointsUnit': { one: 'point', other: 'points' },

    'signin.title': 'Sign in',
    'signin.needed': 'Please sign in with your city account to see your points and perks.',
    'signin.expired': 'Your sign-in has ended. Please sign in again with your city account.',
    'signin.signedOut': 'You are signed out.',
    'signin.how': 'Open perkd from the city’s online services: after you sign in there, it brings you back here.',
    'signin.private': 'perkd never sees your password, and your sign-in is forgotten when you close this tab.',

    'error.title': 'Something went wrong',

    'consent.title': 'Join perkd, the city’s thank-you programme',
    'consent.what': 'perkd is a small thank-you for things you already do for the city, like giving blood or volunteering. When a participating organisation tells us you did one of the acts listed below, you earn points. You can spend points on perks from local partners, and collect stars and flags as your points add up.',
    'consent.voluntaryH': 'Voluntary.',
    'consent.voluntary': 'Joining is your choice. Nothing changes for you if you do not join.',
    'consent.neverPunitiveH': 'Never punitive.',
    'consent.neverPunitive': 'Points are only ever added for good acts. Nobody can take points away, and nothing is ever held against you.',
    'consent.privateH': 'Private.',
    'consent.private': 'Organisations only report which act happened, never details about you. Partners who honour your perks never learn who you are.',
    'consent.leaveH': 'You can leave at any time.',
    'consent.leave': 'One tap, no questions; your personal data is then erased.',
    'consent.rulesTitle': 'How you earn points',
    'consent.rulesIntro': 'These are all the ways to earn points. There are no others.',
    'consent.noRules': 'There are no earning rules at the moment.',
    'consent.rulePoints': { one: '+{n} point', other: '+{n} points' },
    'consent.ruleCap': 'At most {n} points a day',
    'consent.ruleNoCap': 'No daily limit',
    'consent.ruleBy': 'Reported by {issuers}',
    'consent.yourChoice': 'Your choices',
    'consent.issuersLegend': 'Who may report your acts',
    'consent.issuersHint': 'Untick any organisation you do not want to report acts for you. You will not earn points for acts it reports.',
    'consent.noIssuers': 'No organisation reports acts at the moment.',
    'consent.district': 'Your district',
    'consent.districtHint': 'Used only for anonymous counts per district.',
    'consent.districtPick': 'Choose your district',
    'consent.agree': 'I have read this and I want to join perkd.',
    'consent.join': 'Join perkd',
    'consent.joining': 'Joining…',
    'consent.joined': 'Welcome to perkd.',
    'consent.needDistrict': 'Please choose your district.',
    'consent.needAgree': 'Please tick the box to say you want to join.',

    'home.title': 'Your points',
    'home.tier': 'Tier:',
    'home.toNext': { one: '{n} point to {tier}', other: '{n} points to {tier}' },
    'home.topTier': 'You have reached the top tier.',
    'home.starsAria': '{stars} of {per} stars toward the next flag; {flags} flags',
    'home.starRule': 'Lifetime points: {lifetime}. A star for every {star} points; {per} stars make a flag.',

    'vouchers.title': 'Your vouchers',
    'vouchers.none': 'You have no vouchers yet.',
    'vouchers.show': 'Show',
    'vouchers.showFor': 'Show voucher: {perk}',
    'vouchers.validUntil': 'valid until {at}',
    'vouchers.usedAt': 'used {at}',
    'vouchers.cancelledNotice': { one: 'Voucher cancelled; {n} point is back.', other: 'Voucher cancelled; {n} points are back.' },

    'status.issued': 'Ready to use',
    'status.used': 'Used',
    'status.cancelled': 'Cancelled',
    'status.expired': 'Expired',

    'perks.title': 'Perks',
    'perks.intro': 'What you can have now comes first.',
    'perks.none': 'There are no perks at the moment.',
    'perks.cost': { one: '{n} point', other: '{n} points' },
    'perks.statusPerk': 'Free with your tier',
    'perks.from': 'from {partner}',
    'perks.left': '{n} left',
    'perks.minTier': 'tier {tier} and up',
    'perks.redeem': 'Redeem',
    'perks.showPass': 'Show pass',
    'perks.needPoints': { one: '{n} more point needed', other: '{n} more points needed' },
    'perks.needTier': 'Unlocks at tier {tier}',
    'perks.outOfStock': 'None left for now',
    'perks.notActive': 'Not available at the moment',

    'redeem.title': 'Redeem this perk?',
    'redeem.question': { one: '{perk} for {n} point.', other: '{perk} for {n} points.' },
    'redeem.after': { one: 'Your balance afterwards: {n} point.', other: 'Your balance afterwards: {n} points.' },
    'redeem.cancelLater': 'You can cancel the voucher while it is unused and get your points back.',
    'redeem.confirm': 'Redeem',
    'redeem.done': 'Redeemed: {perk}.',

    'voucher.title': 'Your voucher',
    'voucher.qrAlt': 'QR code of the voucher, for the partner to scan',
    'voucher.code': 'Voucher code',
    'voucher.validUntil': 'Valid until {at}',
    'voucher.howTo': 'Show the QR code or read out the code at the counter. The partner sees only whether the voucher is valid, never who you are.',
    'voucher.cancel': 'Cancel voucher',
    'voucher.cancelTitle': 'Cancel this voucher?',
    'voucher.cancelQuestion': { one: '{perk}: the voucher stops working and {n} point comes back to your balance.', other: '{perk}: the voucher stops working and {n} points come back to your balance.' },
    'voucher.keep': 'Keep it',
    'voucher.cancelConfirm': 'Cancel voucher',

    'pass.title': 'Your pass',
    'pass.qrAlt': 'QR code of the pass, for the partner to scan',
    'pass.howTo': 'Show this at the counter. It proves your tier, not who you are.',
    'pass.validFor': 'Valid for',
    'pass.until': 'Until {at}',
    'pass.oneMinute': 'The pass expires in one minute.',
    'pass.expired': 'This pass has expired.',
    'pass.renew': 'Get a new pass',
    'pass.showCode': 'Show the code as text',

    'qr.failed': 'The QR code could not be loaded.',

    'activity.title': 'Recent activity',
    'activity.none': 'Nothing yet. Points appear here when an organisation reports an act.',
    'activity.award': 'Earned: {rule}',
    'activity.redemption': 'Redeemed: {perk}',
    'activity.refund': 'Refund: {perk}',
    'activity.closure': 'Account closed',
    'activity.balanceAfter': 'balance {n}',
    'activity.pointsAria': '{n} points',

    'access.title': 'Who has used your data',
    'access.intro': 'Every time an organisation reports an act for you or checks one of your vouchers or passes, it is listed here.',
    'access.none': 'No organisation has used your data yet.',
    'access.award': '{org} reported an act',
    'access.voucher_check': '{org} checked a voucher',
    'access.voucher_use': '{org} accepted a voucher',
    'access.pass_check': '{org} checked a pass',
    'access.other': '{org}: {action}',

    'sources.title': 'Who may report your acts',
    'sources.hint': 'Untick an organisation to stop it reporting acts for you. Points you already earned stay yours.',
    'sources.save': 'Save my choice',
    'sources.saved': 'Saved. Only the ticked organisations can report acts for you.',

    'data.title': 'Your data',
    'data.exportIntro': 'Download everything perkd holds about you, as one file.',
    'data.export': 'Export my data',
    'data.exported': 'Your data file has been downloaded.',
    'data.leaveIntro': 'You can leave the programme at any time.',
    'data.leave': 'Leave perkd',

    'leave.title': 'Leave perkd?',
    'leave.intro': 'If you leave now:',
    'leave.balance': { one: 'your balance of {n} point is closed and cannot be restored;', other: 'your balance of {n} points is closed and cannot be restored;' },
    'leave.vouchers': 'unused vouchers and passes stop working;',
    'leave.erased': 'your personal data is erased: the link to you, your district, your choices, vouchers, passes and the access log;',
    'leave.stats': 'anonymous totals still count that someone joined and left, without anything that points to you;',
    'leave.again': 'you can join again later, starting from zero.',
    'leave.exportFirst': 'Want a copy first? Close this and use “Export my data”.',
    'leave.stay': 'Stay',
    'leave.confirm': 'Leave and erase my data',

    'left.title': 'You have left perkd',
    'left.body': 'Your personal data has been erased. Thank you for taking part.',
    'left.again': 'Join again',

    'problem.network': 'The service cannot be reached. Check your connection and try again.',
    'problem.unexpected': 'Something unexpected happened.',
    'problem.generic': 'The request failed (HTTP {status}).',
    'problem.insufficient_points': 'You do not have enough points for this perk.',
    'problem.out_of_stock': 'This perk has just run out.',
    'problem.limit_reached': 'You already have as many of this perk as one person may have.',
    'problem.tier_too_low': 'Your tier does not unlock this perk yet.',
    'problem.perk_not_found': 'This perk no longer exists.',
    'problem.perk_not_active': 'This perk is not available at the moment.',
    'problem.consent_required': 'Please tick the box to say you want to join.',
    'problem.unknown_district': 'That district is not known. Please choose one from the list.',
    'problem.already_enrolled': 'You have already joined.',
    'problem.not_enrolled': 'You have not joined perkd.',
    'problem.not_cancellable': 'This voucher can no longer be cancelled: it has been used, cancelled or has expired.',
    'problem.redemption_not_found': 'This voucher no longer exists.',
    'problem.wrong_perk_kind': 'This perk works differently: please reload the page.',
    'problem.pass_not_found': 'This pass is not valid.',
    'problem.unknown_issuer': 'One of the organisations is no longer in the programme. Please reload the page.',
    'problem.validation_failed': 'Something in the request was not accepted.',
    'problem.forbidden': 'You may not do this.',
    'problem.internal_error': 'Something went wrong on our side. Nothing was changed; please try again.',
    'problem.database_busy': 'The service is busy. Please try again in a moment.',
    'problem.database_busy.retry': { one: 'Please try again in {n} second.', other: 'Please try again in {n} seconds.' },
    'problem.database_unavailable': 'The service is not available right now. Please try again in a moment.',
    'problem.database_unavailable.retry': { one: 'Please try again in {n} second.', other: 'Please try again in {n} seconds.' },
    'problem.service_unavailable': 'The service is not available right now. Please try again in a moment.',
    'problem.service_unavailable.retry': { one: 'Please try again in {n} second.', other: 'Please try again in {n} seconds.' },
    'problem.out_of_memory': 'The service is busy. Please try again in a moment.',
    'problem.rate_limited': 'Too many attempts.',
    'problem.rate_limited.retry': { one: 'Please wait {n} second.', other: 'Please wait {n} seconds.' },

    'partner.brand': 'perkd counter',
    'partner.title': 'perkd counter check',
    'partner.keyTitle': 'Counter sign-in',
    'partner.keyLabel': 'Partner key',
    'partner.keyHint': 'Paste the key your organisation received from the programme. It is kept in this browser tab only and forgotten when the tab closes.',
    'partner.keySave': 'Use this key',
    'partner.keyFormat': 'This does not look like a partner key (it starts with pk_).',
    'partner.keyRejected': 'That key was not accepted. Please paste it again.',
    'partner.keyNotPartner': 'That key does not belong to a partner. Please paste your partner key.',
    'partner.keyForgotten': 'The key has been forgotten on this device.',
    'partner.forgetKey': 'Forget key',
    'partner.checkTitle': 'Check a voucher or pass',
    'partner.whatToCheck': 'What to check',
    'partner.modeVoucher': 'Voucher',
    'partner.modePass': 'Status pass',
    'partner.codeLabel': 'Voucher code',
    'partner.codeHint': 'Type it as shown; spaces, dashes and capitals do not matter.',
    'partner.perkLabel': 'Perk the pass is for',
    'partner.perkPick': 'Choose the perk',
    'partner.passLabel': 'Pass code',
    'partner.passHint': 'Scan the QR code on the resident’s phone, or copy the code.',
    'partner.check': 'Check',
    'partner.scan': 'Scan QR code',
    'partner.scanTitle': 'Scan a QR code',
    'partner.scanHint': 'Hold the QR code in front of the camera.',
    'partner.scanVideo': 'Camera view',
    'partner.scanFailed': 'The camera could not be used. Type the code instead.',
    'partner.needCode': 'Please type the voucher code.',
    'partner.needPass': 'Please enter the pass code.',
    'partner.needPerk': 'Please choose the perk.',
    'partner.resultLabel': 'Result',
    'partner.resultEmpty': 'The answer appears here.',
    'partner.valid': 'VALID',
    'partner.notUsedYet': 'Not used yet.',
    'partner.validUntil': 'Valid until {at}.',
    'partner.markUsed': 'Mark as used',
    'partner.markedUsed': 'ACCEPTED',
    'partner.handOver': 'The voucher is now used. Hand over the perk.',
    'partner.used': 'ALREADY USED',
    'partner.usedExplain': 'This voucher has already been used. Do not hand over the perk.',
    'partner.usedAt': 'Used {at}.',
    'partner.expired': 'EXPIRED',
    'partner.expiredExplain': 'This voucher has expired. Do not hand over the perk.',
    'partner.cancelled': 'CANCELLED',
    'partner.cancelledExplain': 'The resident cancelled this voucher. Do not hand over the perk.',
    'partner.notValid': 'NOT VALID',
    'partner.notFound': 'NOT YOURS OR UNKNOWN',
    'partner.notFoundExplain': 'No voucher for your organisation’s perks has this code. Check the code and try again.',
    'partner.badCode': 'NOT A VOUCHER CODE',
    'partner.badPass': 'NOT A VALID PASS',
    'partner.entitled': 'ENTITLED',
    'partner.passUntil': 'Pass valid until {at}.',
    'partner.notEntitled': 'NOT ENTITLED',
    'partner.notEntitledExplain': 'This pass does not give this perk, or it has expired.',
    'partner.slowDown': 'TOO MANY FAILED CHECKS',
    'partner.retryIn': { one: 'Please wait {n} second before the next check.', other: 'Please wait {n} seconds before the next check.' },
    'partner.retryLater': 'Please wait a moment before the next check.',
    'partner.error': 'NO ANSWER',
    'partner.again': 'New check',
    'partner.privacy': 'This page never shows who the resident is: the service does not send it.',
  },

  'zh-Hans': {
    'app.brand': 'perkd',
    'common.skip': '跳到主要内容',
    'common.loading': '正在加载…',
    'common.language': '语言',
    'common.signOut': '退出登录',
    'common.retry': '重试',
    'common.refresh': '刷新',
    'common.updated': '已更新。',
    'common.close': '关闭',
    'common.ok': '好的',
    'common.notNow': '暂不',
    'common.more': '显示更多',
    'common.pointsUnit': { other: '积分' },

    'signin.title': '登录',
    'signin.needed': '请用您的城市账户登录，查看您的积分和权益。',
    'signin.expired': '您的登录已过期，请用城市账户重新登录。',
    'signin.signedOut': '您已退出登录。',
    'signin.how': '请从城市网上服务中打开 perkd：在那里登录后，会自动回到本页。',
    'signin.private': 'perkd 从不接触您的密码；关闭此标签页后，登录状态即被清除。',

    'error.title': '出了点问题',

    'consent.title': '加入 perkd —— 城市感谢计划',
    'consent.what': 'perkd 是城市对您已在做的好事的一点感谢，比如献血或做志愿者。当参与机构告诉我们您完成了下列某项行为时，您会获得积分。积分可以兑换本地合作伙伴提供的权益；积分累积后还能收集星星和旗帜。',
    'consent.voluntaryH': '自愿参加。',
    'consent.voluntary': '加入与否由您决定。不加入，对您没有任何影响。',
    'consent.neverPunitiveH': '绝无惩罚。',
    'consent.neverPunitive': '积分只会因好事而增加。任何人都不能扣除您的积分，也不会有任何事被记作对您不利。',
    'consent.privateH': '保护隐私。',
    'consent.private': '机构只报告发生了哪一项行为，从不报告关于您的细节。为您提供权益的合作伙伴永远不会知道您是谁。',
    'consent.leaveH': '随时可以退出。',
    'consent.leave': '一键退出，无需理由；您的个人数据随即被删除。',
    'consent.rulesTitle': '如何获得积分',
    'consent.rulesIntro': '以下是获得积分的全部方式，没有其他方式。',
    'consent.noRules': '目前没有积分规则。',
    'consent.rulePoints': { other: '+{n} 积分' },
    'consent.ruleCap': '每天最多 {n} 积分',
    'consent.ruleNoCap': '无每日上限',
    'consent.ruleBy': '由 {issuers} 报告',
    'consent.yourChoice': '您的选择',
    'consent.issuersLegend': '允许哪些机构报告您的行为',
    'consent.issuersHint': '取消勾选您不希望为您报告行为的机构。该机构报告的行为将不会为您积分。',
    'consent.noIssuers': '目前没有机构报告行为。',
    'consent.district': '您所在的区',
    'consent.districtHint': '仅用于按区统计的匿名数字。',
    'consent.districtPick': '请选择您所在的区',
    'consent.agree': '我已阅读以上内容，并希望加入 perkd。',
    'consent.join': '加入 perkd',
    'consent.joining': '正在加入…',
    'consent.joined': '欢迎加入 perkd。',
    'consent.needDistrict': '请选择您所在的区。',
    'consent.needAgree': '请勾选方框，表示您希望加入。',

    'home.title': '我的积分',
    'home.tier': '等级：',
    'home.toNext': { other: '距离 {tier} 还差 {n} 积分' },
    'home.topTier': '您已达到最高等级。',
    'home.starsAria': '距离下一面旗帜：{per} 颗星中已有 {stars} 颗；已有 {flags} 面旗帜',
    'home.starRule': '累计积分：{lifetime}。每 {star} 积分得一颗星；{per} 颗星换一面旗帜。',

    'vouchers.title': '我的兑换券',
    'vouchers.none': '您还没有兑换券。',
    'vouchers.show': '出示',
    'vouchers.showFor': '出示兑换券：{perk}',
    'vouchers.validUntil': '有效期至 {at}',
    'vouchers.usedAt': '已于 {at} 使用',
    'vouchers.cancelledNotice': { other: '兑换券已取消，{n} 积分已退回。' },

    'status.issued': '可以使用',
    'status.used': '已使用',
    'status.cancelled': '已取消',
    'status.expired': '已过期',

    'perks.title': '权益',
    'perks.intro': '您现在就能获得的排在前面。',
    'perks.none': '目前没有权益。',
    'perks.cost': { other: '{n} 积分' },
    'perks.statusPerk': '凭等级免费享受',
    'perks.from': '提供方：{partner}',
    'perks.left': '剩余 {n} 份',
    'perks.minTier': '{tier} 及以上等级',
    'perks.redeem': '兑换',
    'perks.showPass': '出示通行证',
    'perks.needPoints': { other: '还差 {n} 积分' },
    'perks.needTier': '达到 {tier} 等级后解锁',
    'perks.outOfStock': '暂时已兑完',
    'perks.notActive': '目前不可兑换',

    'redeem.title': '兑换此权益？',
    'redeem.question': { other: '{perk}，需要 {n} 积分。' },
    'redeem.after': { other: '兑换后余额：{n} 积分。' },
    'redeem.cancelLater': '兑换券未使用前可以取消，积分会退回。',
    'redeem.confirm': '兑换',
    'redeem.done': '已兑换：{perk}。',

    'voucher.title': '我的兑换券',
    'voucher.qrAlt': '兑换券二维码，供合作伙伴扫描',
    'voucher.code': '兑换码',
    'voucher.validUntil': '有效期至 {at}',
    'voucher.howTo': '在柜台出示二维码或读出兑换码。合作伙伴只能看到兑换券是否有效，看不到您是谁。',
    'voucher.cancel': '取消兑换券',
    'voucher.cancelTitle': '取消这张兑换券？',
    'voucher.cancelQuestion': { other: '{perk}：兑换券将失效，{n} 积分退回您的余额。' },
    'voucher.keep': '保留',
    'voucher.cancelConfirm': '取消兑换券',

    'pass.title': '我的通行证',
    'pass.qrAlt': '通行证二维码，供合作伙伴扫描',
    'pass.howTo': '在柜台出示此通行证。它只证明您的等级，不透露您是谁。',
    'pass.validFor': '剩余有效时间',
    'pass.until': '有效至 {at}',
    'pass.oneMinute': '通行证将在一分钟后过期。',
    'pass.expired': '此通行证已过期。',
    'pass.renew': '获取新的通行证',
    'pass.showCode': '以文字显示通行码',

    'qr.failed': '二维码无法加载。',

    'activity.title': '最近记录',
    'activity.none': '暂无记录。机构报告行为后，积分会显示在这里。',
    'activity.award': '获得：{rule}',
    'activity.redemption': '兑换：{perk}',
    'activity.refund': '退回：{perk}',
    'activity.closure': '账户已关闭',
    'activity.balanceAfter': '余额 {n}',
    'activity.pointsAria': '{n} 积分',

    'access.title': '谁使用过您的数据',
    'access.intro': '每当有机构为您报告行为，或查验您的兑换券、通行证，都会列在这里。',
    'access.none': '还没有机构使用过您的数据。',
    'access.award': '{org} 报告了一项行为',
    'access.voucher_check': '{org} 查验了兑换券',
    'access.voucher_use': '{org} 核销了兑换券',
    'access.pass_check': '{org} 查验了通行证',
    'access.other': '{org}：{action}',

    'sources.title': '允许哪些机构报告您的行为',
    'sources.hint': '取消勾选某个机构，它就不能再为您报告行为。已获得的积分仍归您所有。',
    'sources.save': '保存我的选择',
    'sources.saved': '已保存。只有勾选的机构可以为您报告行为。',

    'data.title': '我的数据',
    'data.exportIntro': '下载 perkd 保存的关于您的全部数据（一个文件）。',
    'data.export': '导出我的数据',
    'data.exported': '您的数据文件已下载。',
    'data.leaveIntro': '您可以随时退出本计划。',
    'data.leave': '退出 perkd',

    'leave.title': '退出 perkd？',
    'leave.intro': '如果您现在退出：',
    'leave.balance': { other: '您的 {n} 积分余额将被清零，且无法恢复；' },
    'leave.vouchers': '未使用的兑换券和通行证将失效；',
    'leave.erased': '您的个人数据将被删除：与您的关联、所在区、您的选择、兑换券、通行证和访问记录；',
    'leave.stats': '匿名统计仍会记录有人加入和退出，但不含任何能指向您的信息；',
    'leave.again': '以后您可以重新加入，从零开始。',
    'leave.exportFirst': '想先保留一份副本？关闭此窗口，使用“导出我的数据”。',
    'leave.stay': '留下',
    'leave.confirm': '退出并删除我的数据',

    'left.title': '您已退出 perkd',
    'left.body': '您的个人数据已被删除。感谢您的参与。',
    'left.again': '重新加入',

    'problem.network': '无法连接服务。请检查网络后重试。',
    'problem.unexpected': '发生了意外情况。',
    'problem.generic': '请求失败（HTTP {status}）。',
    'problem.insufficient_points': '您的积分不足以兑换此权益。',
    'problem.out_of_stock': '此权益刚刚兑完。',
    'problem.limit_reached': '您持有的此权益已达到每人上限。',
    'problem.tier_too_low': '您的等级尚未解锁此权益。',
    'problem.perk_not_found': '此权益已不存在。',
    'problem.perk_not_active': '此权益目前不可兑换。',
    'problem.consent_required': '请勾选方框，表示您希望加入。',
    'problem.unknown_district': '无法识别该区，请从列表中选择。',
    'problem.already_enrolled': '您已经加入了。',
    'problem.not_enrolled': '您尚未加入 perkd。',
    'problem.not_cancellable': '此兑换券已无法取消：它已被使用、已取消或已过期。',
    'problem.redemption_not_found': '此兑换券已不存在。',
    'problem.wrong_perk_kind': '此权益的使用方式不同，请刷新页面。',
    'problem.pass_not_found': '此通行证无效。',
    'problem.unknown_issuer': '其中某个机构已不在本计划中，请刷新页面。',
    'problem.validation_failed': '请求中的部分内容未被接受。',
    'problem.forbidden': '您无权执行此操作。',
    'problem.internal_error': '我们这边出了问题，没有任何更改，请重试。',
    'problem.database_busy': '服务繁忙，请稍后再试。',
    'problem.database_busy.retry': { other: '请在 {n} 秒后重试。' },
    'problem.database_unavailable': '服务暂时不可用，请稍后再试。',
    'problem.database_unavailable.retry': { other: '请在 {n} 秒后重试。' },
    'problem.service_unavailable': '服务暂时不可用，请稍后再试。',
    'problem.service_unavailable.retry': { other: '请在 {n} 秒后重试。' },
    'problem.out_of_memory': '服务繁忙，请稍后再试。',
    'problem.rate_limited': '尝试次数过多。',
    'problem.rate_limited.retry': { other: '请等待 {n} 秒。' },

    'partner.brand': 'perkd 柜台',
    'partner.title': 'perkd 柜台查验',
    'partner.keyTitle': '柜台登录',
    'partner.keyLabel': '合作伙伴密钥',
    'partner.keyHint': '粘贴贵机构从本计划获得的密钥。密钥只保存在此浏览器标签页中，关闭标签页即被清除。',
    'partner.keySave': '使用此密钥',
    'partner.keyFormat': '这看起来不是合作伙伴密钥（应以 pk_ 开头）。',
    'partner.keyRejected': '该密钥未被接受，请重新粘贴。',
    'partner.keyNotPartner': '该密钥不属于合作伙伴，请粘贴合作伙伴密钥。',
    'partner.keyForgotten': '此设备已清除该密钥。',
    'partner.forgetKey': '清除密钥',
    'partner.checkTitle': '查验兑换券或通行证',
    'partner.whatToCheck': '查验内容',
    'partner.modeVoucher': '兑换券',
    'partner.modePass': '等级通行证',
    'partner.codeLabel': '兑换码',
    'partner.codeHint': '按显示内容输入；空格、短横线和大小写均不影响。',
    'partner.perkLabel': '通行证对应的权益',
    'partner.perkPick': '请选择权益',
    'partner.passLabel': '通行码',
    'partner.passHint': '扫描居民手机上的二维码，或复制通行码。',
    'partner.check': '查验',
    'partner.scan': '扫描二维码',
    'partner.scanTitle': '扫描二维码',
    'partner.scanHint': '请将二维码对准摄像头。',
    'partner.scanVideo': '摄像头画面',
    'partner.scanFailed': '无法使用摄像头，请手动输入。',
    'partner.needCode': '请输入兑换码。',
    'partner.needPass': '请输入通行码。',
    'partner.needPerk': '请选择权益。',
    'partner.resultLabel': '结果',
    'partner.resultEmpty': '结果将显示在这里。',
    'partner.valid': '有效',
    'partner.notUsedYet': '尚未使用。',
    'partner.validUntil': '有效期至 {at}。',
    'partner.markUsed': '标记为已使用',
    'partner.markedUsed': '已核销',
    'partner.handOver': '兑换券现已使用，请提供权益。',
    'partner.used': '已被使用',
    'partner.usedExplain': '此兑换券已被使用，请勿提供权益。',
    'partner.usedAt': '使用时间：{at}。',
    'partner.expired': '已过期',
    'partner.expiredExplain': '此兑换券已过期，请勿提供权益。',
    'partner.cancelled': '已取消',
    'partner.cancelledExplain': '居民已取消此兑换券，请勿提供权益。',
    'partner.notValid': '无效',
    'partner.notFound': '非本机构或未知',
    'partner.notFoundExplain': '贵机构的权益中没有此兑换码。请核对后重试。',
    'partner.badCode': '不是兑换码',
    'partner.badPass': '不是有效的通行证',
    'partner.entitled': '有权享受',
    'partner.passUntil': '通行证有效至 {at}。',
    'partner.notEntitled': '无权享受',
    'partner.notEntitledExplain': '此通行证不包含该权益，或已过期。',
    'partner.slowDown': '失败次数过多',
    'partner.retryIn': { other: '请等待 {n} 秒后再查验。' },
    'partner.retryLater': '请稍候再查验。',
    'partner.error': '没有响应',
    'partner.again': '新的查验',
    'partner.privacy': '本页面从不显示居民身份：服务根本不会发送这些信息。',
  },
};

const STORE = 'perkd.lang';
const listeners = [];

function pick() {
  try {
    const saved = localStorage.getItem(STORE);
    if (saved && STRINGS[saved]) return saved;
  } catch (e) { /* storage may be off: fall through */ }
  const wanted = (globalThis.navigator && (navigator.languages || [navigator.language])) || [];
  for (const l of wanted) {
    const low = String(l).toLowerCase();
    if (low.startsWith('zh')) return 'zh-Hans';
    if (low.startsWith('en')) return 'en';
  }
  return 'en';
}

let current = pick();
if (globalThis.document) document.documentElement.lang = current;

export function lang() { return current; }

/* Switches the language, remembers it, and tells every listener. */
export function setLang(l) {
  if (!STRINGS[l] || l === current) return;
  current = l;
  try { localStorage.setItem(STORE, l); } catch (e) { /* not remembered */ }
  document.documentElement.lang = l;
  for (const fn of listeners) fn(l);
}

export function onLangChange(fn) { listeners.push(fn); }

/* True if key has a text (in the current language or English). */
export function has(key) {
  return key in STRINGS[current] || key in STRINGS.en;
}

/* The text for key with {name} placeholders filled from vars. fallback
 * is returned for a key that does not exist (else the key itself). */
export function t(key, vars = {}, fallback) {
  let s = STRINGS[current][key] ?? STRINGS.en[key];
  if (s === undefined) return fallback !== undefined ? fallback : key;
  if (typeof s === 'object') {
    const n = Number(vars.n);
    const cat = new Intl.PluralRules(current).select(Number.isFinite(n) ? n : 0);
    s = s[cat] ?? s.other;
  }
  return s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

/* Sets the text of every element with data-i18n="key" under root. */
export function translatePage(root) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
}

export function fmtNumber(n) {
  return new Intl.NumberFormat(current).format(Number(n) || 0);
}

function fmt(iso, opts) {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return '';
  return new Intl.DateTimeFormat(current, opts).format(d);
}

export function fmtDate(iso) { return fmt(iso, { dateStyle: 'medium' }); }
export function fmtDateTime(iso) { return fmt(iso, { dateStyle: 'medium', timeStyle: 'short' }); }

/* For the translation test: every table, read-only. */
export function stringsForTest() {
  return STRINGS;
}
